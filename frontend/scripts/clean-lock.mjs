// Drops what npm writes into package-lock.json that names other hosts: each package's
// `funding` web address (the lock needs none of it; `.npmrc` already keeps registry
// addresses out). Run after `npm install` changes the lock: `npm run lock:clean`.
// scripts/check-ui.sh fails while the lock holds an address.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
let dropped = 0;
for (const entry of Object.values(lock.packages ?? {})) {
  if ("funding" in entry) {
    delete entry.funding;
    dropped += 1;
  }
}
writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
console.log(`package-lock.json: dropped ${dropped} funding entries`);
