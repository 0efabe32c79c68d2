import { useEffect, useState } from "react";
import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router-dom";
import { useSignedIn } from "./AuthContext";
import { accessToken, refresh } from "./session";

/**
 * Silent sign-in on load: the refresh cookie buys an access token, else go to sign in.
 * Signing out later (or a refresh that fails) goes straight to sign in: the session is over.
 */
export function RequireAuth({ children }: { children: ReactNode }) {
  const signedIn = useSignedIn();
  const location = useLocation();
  const [checked, setChecked] = useState(() => accessToken() !== null);
  useEffect(() => {
    if (checked) return;
    let live = true;
    void refresh().then(() => {
      if (live) setChecked(true);
    });
    return () => {
      live = false;
    };
  }, [checked]);
  if (signedIn) return <>{children}</>;
  if (!checked) {
    return (
      <div
        className="flex h-screen items-center justify-center text-zinc-600 dark:text-zinc-400"
        aria-busy="true"
      >
        Opening Haven…
      </div>
    );
  }
  const next = location.pathname + location.search;
  return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
}
