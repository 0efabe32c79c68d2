import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// These tests drive a simulated user (userEvent types key by key) through React renders: on
// a busy two-core machine a findBy* can need more than its default second, and a test more
// than Vitest's default five. They wait for what the user would see, never for a fixed time,
// so a longer bound costs nothing when the machine is quiet.
configure({ asyncUtilTimeout: 5_000 });

afterEach(() => cleanup());
