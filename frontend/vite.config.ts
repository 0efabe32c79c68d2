/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// The built UI is served by Haven itself at / (src/haven/web/dist); in development,
// /api goes to a Haven server on HAVEN_API (default: port 8000 on this machine).
const api = process.env.HAVEN_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "../src/haven/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: { proxy: { "/api": { target: api, changeOrigin: false } } },
  preview: { proxy: { "/api": { target: api, changeOrigin: false } } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    // See src/test/setup.ts: bounds for a busy machine, not speed checks.
    testTimeout: 20_000,
  },
});
