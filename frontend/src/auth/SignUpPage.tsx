import { useState } from "react";
import type { FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import { browserTimeZone } from "../lib/dates";
import { AuthLayout, Field, primaryButton } from "./AuthForm";
import { signUp } from "./session";

export default function SignUpPage() {
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    setFields({});
    try {
      await signUp({
        email: String(form.get("email")),
        password: String(form.get("password")),
        name: String(form.get("name") ?? ""),
        timezone: String(form.get("timezone") || browserTimeZone()),
      });
      navigate("/inbox", { replace: true });
    } catch (failure) {
      if (failure instanceof ApiError) setFields(fieldErrors(failure.problem));
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Create your account">
      <form onSubmit={submit} noValidate>
        <Field label="Name" name="name" autoComplete="name" error={fields.name} />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          error={fields.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={8}
          required
          error={fields.password}
        />
        <Field
          label="Time zone"
          name="timezone"
          defaultValue={browserTimeZone()}
          autoComplete="off"
          error={fields.timezone}
        />
        {error && (
          <p role="alert" className="mb-4 text-red-700 dark:text-red-400">
            {error}
          </p>
        )}
        <button type="submit" className={primaryButton} disabled={busy}>
          {busy ? "Creating account…" : "Create account"}
        </button>
      </form>
      <p className="mt-4 text-center text-zinc-600 dark:text-zinc-400">
        Already have an account?{" "}
        <Link to="/signin" className="text-accent-600 underline dark:text-accent-100">
          Sign in
        </Link>
      </p>
    </AuthLayout>
  );
}
