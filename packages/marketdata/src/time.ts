import type { Resolution } from "./types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1969-12-29 00:00 UTC, a Monday (the epoch was a Thursday): weeks are counted from it. */
const MONDAY = -3 * DAY;

const FIXED: Partial<Record<Resolution, number>> = { "1m": MINUTE, "5m": 5 * MINUTE, "1h": HOUR, "1w": WEEK };

/** Start of the bucket holding `ts` (ms, UTC). Date is used only as a calendar, never as a clock. */
export function bucketStart(resolution: Resolution, ts: number): number {
  if (resolution === "1mo") {
    const d = new Date(ts);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const width = FIXED[resolution]!;
  const origin = resolution === "1w" ? MONDAY : 0;
  return ts - mod(ts - origin, width);
}

/** Start of the bucket after the one starting at `start`. */
export function bucketEnd(resolution: Resolution, start: number): number {
  if (resolution === "1mo") {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + FIXED[resolution]!;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
