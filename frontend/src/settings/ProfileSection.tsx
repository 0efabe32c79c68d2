import { useState } from "react";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import type { User } from "../api/types";
import { useToast } from "../shell/toasts";
import { useMe } from "../tasks/queries";
import { useUpdateProfile } from "./queries";
import type { ProfileUpdate } from "./queries";
import { FieldError, FormError, input, label, muted, primaryButton, Section } from "./ui";

/** Every IANA zone the browser knows, with the user's own kept even if the browser lacks it. */
export function timeZones(current: string): string[] {
  const all =
    typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return all.includes(current) ? all : [current, ...all];
}

export function ProfileSection() {
  const me = useMe();
  return (
    <Section
      id="profile"
      title="Profile"
      description="Your name and the time zone your days run in."
    >
      {me.data ? (
        // Keyed by version: the form starts again from the server's copy after each save.
        <ProfileForm key={me.data.version} user={me.data} />
      ) : me.isError ? (
        <p role="alert" className="text-red-700 dark:text-red-400">
          {describeError(me.error)}
        </p>
      ) : (
        <p className={muted}>Loading…</p>
      )}
    </Section>
  );
}

function ProfileForm({ user }: { user: User }) {
  const [name, setName] = useState(user.name);
  const [timeZone, setTimeZone] = useState(user.timezone);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const update = useUpdateProfile();
  const toast = useToast();
  const zones = timeZones(user.timezone);
  const changed = name !== user.name || timeZone !== user.timezone;

  async function save(event: React.FormEvent) {
    event.preventDefault();
    setErrors({});
    setFormError(undefined);
    const change: ProfileUpdate = {};
    if (name !== user.name) change.name = name;
    if (timeZone !== user.timezone) change.timezone = timeZone;
    try {
      await update.mutateAsync(change);
      toast({ message: "Profile saved" });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        setFormError("Your profile was changed elsewhere. It has been reloaded; try again.");
        return;
      }
      const byField = error instanceof ApiError ? fieldErrors(error.problem) : {};
      setErrors(byField);
      if (Object.keys(byField).length === 0) setFormError(describeError(error));
    }
  }

  return (
    <form onSubmit={(event) => void save(event)} className="flex max-w-md flex-col gap-3">
      <p className={muted}>Signed in as {user.email}</p>
      <div>
        <label htmlFor="profile-name" className={label}>
          Name
        </label>
        <input
          id="profile-name"
          className={input}
          value={name}
          maxLength={200}
          autoComplete="name"
          aria-invalid={errors.name ? true : undefined}
          aria-describedby={errors.name ? "profile-name-error" : undefined}
          onChange={(event) => setName(event.target.value)}
        />
        <FieldError id="profile-name-error" message={errors.name} />
      </div>
      <div>
        <label htmlFor="profile-timezone" className={label}>
          Time zone
        </label>
        <select
          id="profile-timezone"
          className={input}
          value={timeZone}
          aria-invalid={errors.timezone ? true : undefined}
          aria-describedby={errors.timezone ? "profile-timezone-error" : undefined}
          onChange={(event) => setTimeZone(event.target.value)}
        >
          {zones.map((zone) => (
            <option key={zone} value={zone}>
              {zone.replaceAll("_", " ")}
            </option>
          ))}
        </select>
        <FieldError id="profile-timezone-error" message={errors.timezone} />
      </div>
      <FormError message={formError} />
      <div>
        <button type="submit" className={primaryButton} disabled={!changed || update.isPending}>
          {update.isPending ? "Saving…" : "Save profile"}
        </button>
      </div>
    </form>
  );
}
