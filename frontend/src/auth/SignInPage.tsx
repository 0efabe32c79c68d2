import { useState } from "react";
import type { FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, describeError, fieldErrors } from "../api/problems";
import { AuthLayout, Field, primaryButton } from "./AuthForm";
import { signIn } from "./session";

/** Only paths of this app: never send the user to another site after signing in. */
export function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export default function SignInPage() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
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
      await signIn(String(form.get("email")), String(form.get("password")));
      navigate(safeNext(params.get("next")), { replace: true });
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 401) {
        setError("That email and password do not match an account.");
      } else {
        setError(describeError(failure));
        if (failure instanceof ApiError) setFields(fieldErrors(failure.problem));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Sign in">
      <form onSubmit={submit} noValidate>
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
          autoComplete="current-password"
          required
          error={fields.password}
        />
        {error && (
          <p role="alert" className="mb-4 text-red-700 dark:text-red-400">
            {error}
          </p>
        )}
        <button type="submit" className={primaryButton} disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p className="mt-4 text-center text-zinc-600 dark:text-zinc-400">
        New to Haven?{" "}
        <Link to="/signup" className="text-accent-600 underline dark:text-accent-100">
          Create one
        </Link>
      </p>
    </AuthLayout>
  );
}
