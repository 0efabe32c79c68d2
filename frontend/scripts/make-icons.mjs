// Draws Haven's PNG icons (the same house-and-check as public/icon.svg) with no image library:
// a signed-distance rasteriser and a hand-written PNG encoder. `node scripts/make-icons.mjs`.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const ACCENT = [0x4f, 0x46, 0xe5];
const WHITE = [255, 255, 255];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function insideRoundedRect(x, y, r) {
  const cx = Math.min(Math.max(x, r), 64 - r);
  const cy = Math.min(Math.max(y, r), 64 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}
function insideHouse(x, y) {
  if (x < 14 || x > 50 || y > 50) return false;
  if (y >= 31) return true;
  // roof: from (14,31) up to (32,16) down to (50,31)
  const roofY = 16 + (Math.abs(x - 32) / 18) * 15;
  return y >= roofY;
}
function distanceToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}
function onCheck(x, y) {
  const d = Math.min(
    distanceToSegment(x, y, 24, 36, 30, 42),
    distanceToSegment(x, y, 30, 42, 41, 30),
  );
  return d <= 2.25;
}

function colourAt(x, y, maskable) {
  if (!maskable && !insideRoundedRect(x, y, 14)) return null;
  if (onCheck(x, y)) return ACCENT;
  if (insideHouse(x, y)) return WHITE;
  return ACCENT;
}

function draw(size, maskable) {
  const samples = 4;
  const rows = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          // a maskable icon keeps its content in the middle 80%
          const scale = maskable ? 80 : 64;
          const offset = maskable ? 8 : 0;
          const x = ((px + (sx + 0.5) / samples) / size) * scale - offset;
          const y = ((py + (sy + 0.5) / samples) / size) * scale - offset;
          const colour = colourAt(x, y, maskable);
          if (colour) {
            r += colour[0];
            g += colour[1];
            b += colour[2];
            a += 255;
          }
        }
      }
      const n = samples * samples;
      const covered = a / 255 || 1;
      row.set([r / covered, g / covered, b / covered, a / n].map(Math.round), 1 + px * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

writeFileSync(new URL("../public/icon-192.png", import.meta.url), draw(192, false));
writeFileSync(new URL("../public/icon-512.png", import.meta.url), draw(512, true));
console.log("wrote public/icon-192.png and public/icon-512.png");
