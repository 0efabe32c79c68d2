import { useEffect, useState } from "react";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import type { User } from "../api/types";
import {
  usePreferences,
  useUpdatePreferences,
  type Preferences,
  type PreferencesUpdate,
} from "../notifications/queries";
import {
  currentSubscription,
  pushSupport,
  turnOff,
  turnOn,
  vapidPublicKey,
} from "../notifications/push";
import { useToast } from "../shell/toasts";
import { useMe } from "../tasks/queries";
import { useUpdateProfile, type ProfileUpdate } from "./queries";
import { FieldError, FormError, input, label, muted, primaryButton, Section } from "./ui";

const CHANNELS = [
  { key: "in_app", name: "In the app", hint: "the bell in the sidebar" },
  { key: "email", name: "Email", hint: "to your sign-in address" },
  { key: "push", name: "Push", hint: "to the devices where you turned it on" },
] as const;

export function NotificationsSection() {
  const preferences = usePreferences();
  const me = useMe();
  return (
    <Section
      id="notifications"
      title="Notifications"
      description="How reminders and your daily digest reach you, and when they stay quiet."
    >
      {preferences.data && me.data ? (
        // Keyed by what was read: the form starts again from the server's copy after each save.
        <NotificationsForm
          key={`${me.data.version}-${JSON.stringify(preferences.data)}`}
          preferences={preferences.data}
          user={me.data}
        />
      ) : preferences.isError || me.isError ? (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {describeError(preferences.error ?? me.error)}
        </p>
      ) : (
        <p className={muted}>Loading…</p>
      )}
      <PushOnThisDevice />
    </Section>
  );
}

function NotificationsForm({ preferences, user }: { preferences: Preferences; user: User }) {
  const [channels, setChannels] = useState({
    in_app: preferences.in_app,
    email: preferences.email,
    push: preferences.push,
  });
  const [quiet, setQuiet] = useState(preferences.quiet_hours_start !== null);
  const [quietStart, setQuietStart] = useState(preferences.quiet_hours_start ?? "22:00");
  const [quietEnd, setQuietEnd] = useState(preferences.quiet_hours_end ?? "07:00");
  const [digestOn, setDigestOn] = useState(user.digest_enabled);
  const [digestTime, setDigestTime] = useState(user.digest_time);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const updatePreferences = useUpdatePreferences();
  const updateProfile = useUpdateProfile();
  const toast = useToast();

  const change: PreferencesUpdate = {};
  for (const { key } of CHANNELS)
    if (channels[key] !== preferences[key]) change[key] = channels[key];
  const start = quiet ? quietStart : null;
  const end = quiet ? quietEnd : null;
  if (start !== preferences.quiet_hours_start || end !== preferences.quiet_hours_end) {
    change.quiet_hours_start = start;
    change.quiet_hours_end = end;
  }
  const profile: ProfileUpdate = {};
  if (digestOn !== user.digest_enabled) profile.digest_enabled = digestOn;
  if (digestTime !== user.digest_time) profile.digest_time = digestTime;
  const changed = Object.keys(change).length > 0 || Object.keys(profile).length > 0;
  const pending = updatePreferences.isPending || updateProfile.isPending;

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setErrors({});
    setFormError(undefined);
    try {
      if (Object.keys(change).length > 0) await updatePreferences.mutateAsync(change);
      if (Object.keys(profile).length > 0) await updateProfile.mutateAsync(profile);
      toast({ message: "Notification settings saved" });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        setFormError("Your settings were changed elsewhere. They have been reloaded; try again.");
        return;
      }
      const byField = error instanceof ApiError ? fieldErrors(error.problem) : {};
      setErrors(byField);
      if (Object.keys(byField).length === 0) setFormError(describeError(error));
    }
  }

  function timeField(
    id: string,
    field: string,
    text: string,
    value: string,
    set: (v: string) => void,
    disabled: boolean,
  ) {
    return (
      <div>
        <label htmlFor={id} className={label}>
          {text}
        </label>
        <input
          id={id}
          type="time"
          className={`${input} w-32`}
          value={value}
          disabled={disabled}
          required
          aria-invalid={errors[field] ? true : undefined}
          aria-describedby={errors[field] ? `${id}-error` : undefined}
          onChange={(event) => set(event.target.value.slice(0, 5))}
        />
        <FieldError id={`${id}-error`} message={errors[field]} />
      </div>
    );
  }

  return (
    <form onSubmit={(event) => void save(event)} className="flex max-w-md flex-col gap-4">
      <fieldset className="flex flex-col gap-2">
        <legend className={label}>Channels</legend>
        {CHANNELS.map(({ key, name, hint }) => (
          <div key={key}>
            <label className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={channels[key]}
                aria-describedby={errors[key] ? `notify-${key}-error` : undefined}
                onChange={(event) => setChannels({ ...channels, [key]: event.target.checked })}
              />
              {name} <span className={muted}>({hint})</span>
            </label>
            <FieldError id={`notify-${key}-error`} message={errors[key]} />
          </div>
        ))}
      </fieldset>
      <fieldset className="flex flex-col gap-2">
        <legend className={label}>Quiet hours</legend>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={quiet}
            onChange={(event) => setQuiet(event.target.checked)}
          />
          Hold email and push during these hours (they arrive when quiet hours end)
        </label>
        <div className="flex gap-4">
          {timeField(
            "quiet-start",
            "quiet_hours_start",
            "Quiet from",
            quietStart,
            setQuietStart,
            !quiet,
          )}
          {timeField("quiet-end", "quiet_hours_end", "Quiet until", quietEnd, setQuietEnd, !quiet)}
        </div>
      </fieldset>
      <fieldset className="flex flex-col gap-2">
        <legend className={label}>Daily digest</legend>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            checked={digestOn}
            onChange={(event) => setDigestOn(event.target.checked)}
          />
          Send me a digest every morning: overdue, due today and this week
        </label>
        {timeField(
          "digest-time",
          "digest_time",
          "Digest time",
          digestTime,
          setDigestTime,
          !digestOn,
        )}
      </fieldset>
      <FormError message={formError} />
      <div>
        <button type="submit" className={primaryButton} disabled={!changed || pending}>
          {pending ? "Saving…" : "Save notification settings"}
        </button>
      </div>
    </form>
  );
}

type PushState =
  | { kind: "checking" }
  | { kind: "unsupported" }
  | { kind: "unconfigured" }
  | { kind: "ready"; publicKey: string; on: boolean };

/** "Notifications on this device": this browser's Web Push subscription, on or off. */
function PushOnThisDevice() {
  const [state, setState] = useState<PushState>({ kind: "checking" });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  const [denied, setDenied] = useState(
    () => typeof Notification !== "undefined" && Notification.permission === "denied",
  );

  useEffect(() => {
    let live = true;
    async function check() {
      if (pushSupport() === "unsupported") return setState({ kind: "unsupported" });
      try {
        const publicKey = await vapidPublicKey();
        if (!live) return;
        if (publicKey === null) return setState({ kind: "unconfigured" });
        const on = (await currentSubscription()) !== null;
        if (live) setState({ kind: "ready", publicKey, on });
      } catch (error) {
        if (live) {
          setState({ kind: "unconfigured" });
          setMessage(describeError(error));
        }
      }
    }
    void check();
    return () => {
      live = false;
    };
  }, []);

  async function toggle(on: boolean) {
    if (state.kind !== "ready") return;
    setBusy(true);
    setMessage(undefined);
    try {
      if (on) await turnOn(state.publicKey);
      else await turnOff();
      setState({ ...state, on });
    } catch (error) {
      if (error instanceof Error && error.message === "denied") setDenied(true);
      else if (error instanceof Error && error.message === "dismissed")
        setMessage("Notifications were not allowed. Turn this on again to be asked once more.");
      else setMessage(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex max-w-md flex-col gap-1">
      <h3 className={label}>This device</h3>
      {state.kind === "checking" ? (
        <p className={muted}>Checking this browser…</p>
      ) : state.kind === "unsupported" ? (
        <p className={muted}>This browser cannot receive push notifications.</p>
      ) : state.kind === "unconfigured" ? (
        <p className={muted}>Push notifications are not set up on this Haven server.</p>
      ) : (
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            role="switch"
            checked={state.on}
            disabled={busy || (denied && !state.on)}
            aria-describedby={denied ? "push-denied" : undefined}
            onChange={(event) => void toggle(event.target.checked)}
          />
          Notifications on this device
        </label>
      )}
      {denied && state.kind === "ready" && (
        <p id="push-denied" className="text-sm text-red-700 dark:text-red-400">
          This browser blocks notifications from Haven. To allow them, open the site settings (the
          icon left of the address) and set Notifications to Allow, then reload.
        </p>
      )}
      <FormError message={message} />
    </div>
  );
}
