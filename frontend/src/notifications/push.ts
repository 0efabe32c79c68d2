import { api, authFetch, unwrap } from "../api/client";
import { ApiError } from "../api/problems";

/** Where this browser keeps the device id Haven gave its subscription (to remove it later). */
const DEVICE_KEY = "haven-push-device";
export const WORKER_URL = "/sw.js";

export type PushSupport = "supported" | "unsupported";

export function pushSupport(): PushSupport {
  return typeof window !== "undefined" &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
    ? "supported"
    : "unsupported";
}

/** The VAPID key, or null when the server has no Web Push (404). */
export async function vapidPublicKey(): Promise<string | null> {
  // Plain fetch: the endpoint comes with the push branch, not yet in the generated types.
  const response = await authFetch(new Request(`${location.origin}/api/v1/push/vapid-public-key`));
  if (response.status === 404) return null;
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return (body as { public_key: string }).public_key;
}

/** base64url → bytes (PushManager.subscribe's applicationServerKey). */
export function base64UrlToBytes(value: string): Uint8Array<ArrayBuffer> {
  const base64 = value.replaceAll("-", "+").replaceAll("_", "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A name to recognise this browser by in a list of devices: "Firefox on Linux". */
export function browserName(agent: string = navigator.userAgent): string {
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /Firefox\//.test(agent)
      ? "Firefox"
      : /Chrome\//.test(agent)
        ? "Chrome"
        : /Safari\//.test(agent)
          ? "Safari"
          : "Browser";
  const system = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Mac OS X/.test(agent)
        ? "macOS"
        : /Windows/.test(agent)
          ? "Windows"
          : /Linux/.test(agent)
            ? "Linux"
            : "";
  return system ? `${browser} on ${system}` : browser;
}

export function storedDevice(): string | null {
  return localStorage.getItem(DEVICE_KEY);
}

/** This browser's subscription, if it has one and Haven knows it. */
export async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration(WORKER_URL);
  const subscription = (await registration?.pushManager.getSubscription()) ?? null;
  return subscription && storedDevice() ? subscription : null;
}

/** Ask, subscribe and register this browser. Throws "denied" when the person said no. */
export async function turnOn(publicKey: string): Promise<void> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error(permission === "denied" ? "denied" : "dismissed");
  const registration = await navigator.serviceWorker.register(WORKER_URL);
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlToBytes(publicKey),
  });
  const json = subscription.toJSON();
  try {
    const device = await unwrap<{ id: string }>(
      api.POST("/api/v1/devices", {
        body: {
          name: browserName(),
          platform: "web",
          web_push: {
            endpoint: subscription.endpoint,
            keys: { p256dh: json.keys?.p256dh ?? "", auth: json.keys?.auth ?? "" },
          },
          // `web_push` arrives with the push branch; the generated types still say push_token.
        } as never,
      }),
    );
    localStorage.setItem(DEVICE_KEY, device.id);
  } catch (error) {
    await subscription.unsubscribe();
    throw error;
  }
}

/** Unsubscribe this browser and forget its device on the server. */
export async function turnOff(): Promise<void> {
  const registration = await navigator.serviceWorker.getRegistration(WORKER_URL);
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe();
  const device = storedDevice();
  if (device) {
    const { response, error } = await api.DELETE("/api/v1/devices/{device_id}", {
      params: { path: { device_id: device } },
    });
    // Already gone on the server is as good as removed.
    if (!response.ok && response.status !== 404) throw new ApiError(response.status, error);
    localStorage.removeItem(DEVICE_KEY);
  }
}
