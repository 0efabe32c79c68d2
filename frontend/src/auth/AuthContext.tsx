import { useSyncExternalStore } from "react";
import { accessToken, currentUser, subscribe } from "./session";

/** The signed-in user (null when signed out); re-renders on sign-in, refresh and sign-out. */
export function useSessionUser() {
  return useSyncExternalStore(subscribe, currentUser);
}

export function useSignedIn(): boolean {
  return useSyncExternalStore(subscribe, () => accessToken() !== null);
}
