import { describe, expect, it } from "vitest";
import { bucketEnd, bucketStart, MarketData, RESOLUTIONS } from "../src/index.ts";
import { at, trade } from "./events.ts";

const DAY = 86_400_000;

describe("buckets", () => {
  it("cuts minutes, five minutes and hours", () => {
    const t = at("2024-03-10T12:34:56.789Z");
    expect(bucketStart("1m", t)).toBe(at("2024-03-10T12:34:00Z"));
    expect(bucketStart("5m", t)).toBe(at("2024-03-10T12:30:00Z"));
    expect(bucketStart("1h", t)).toBe(at("2024-03-10T12:00:00Z"));
    expect(bucketStart("5m", at("2024-03-10T12:35:00Z"))).toBe(at("2024-03-10T12:35:00Z"));
    expect(bucketStart("5m", at("2024-03-10T12:34:59.999Z"))).toBe(at("2024-03-10T12:30:00Z"));
    expect(bucketEnd("1h", at("2024-03-10T12:00:00Z"))).toBe(at("2024-03-10T13:00:00Z"));
  });

  it("starts weeks on Monday 00:00 UTC", () => {
    // 2024-01-01 was a Monday, 2024-01-07 a Sunday.
    expect(bucketStart("1w", at("2024-01-01T00:00:00Z"))).toBe(at("2024-01-01T00:00:00Z"));
    expect(bucketStart("1w", at("2024-01-07T23:59:59.999Z"))).toBe(at("2024-01-01T00:00:00Z"));
    expect(bucketStart("1w", at("2024-01-08T00:00:00Z"))).toBe(at("2024-01-08T00:00:00Z"));
    expect(bucketStart("1w", at("2023-12-31T12:00:00Z"))).toBe(at("2023-12-25T00:00:00Z"));
    expect(bucketStart("1w", 0)).toBe(at("1969-12-29T00:00:00Z"));
    expect(bucketEnd("1w", at("2024-01-01T00:00:00Z"))).toBe(at("2024-01-08T00:00:00Z"));
    for (let t = at("2023-01-01T13:00:00Z"); t < at("2025-01-01T00:00:00Z"); t += DAY) {
      const start = bucketStart("1w", t);
      expect(new Date(start).getUTCDay()).toBe(1);
      expect(t - start).toBeLessThan(7 * DAY);
    }
  });

  it("follows calendar months, February and leap years included", () => {
    expect(bucketStart("1mo", at("2024-02-29T23:59:59.999Z"))).toBe(at("2024-02-01T00:00:00Z"));
    expect(bucketStart("1mo", at("2024-03-01T00:00:00Z"))).toBe(at("2024-03-01T00:00:00Z"));
    expect(bucketStart("1mo", at("2023-02-28T23:59:59.999Z"))).toBe(at("2023-02-01T00:00:00Z"));
    expect(bucketStart("1mo", at("2023-03-01T00:00:00Z"))).toBe(at("2023-03-01T00:00:00Z"));
    expect(bucketStart("1mo", at("2023-12-31T23:59:59.999Z"))).toBe(at("2023-12-01T00:00:00Z"));
    expect(bucketEnd("1mo", at("2024-02-01T00:00:00Z")) - at("2024-02-01T00:00:00Z")).toBe(29 * DAY);
    expect(bucketEnd("1mo", at("2023-02-01T00:00:00Z")) - at("2023-02-01T00:00:00Z")).toBe(28 * DAY);
    expect(bucketEnd("1mo", at("2100-02-01T00:00:00Z")) - at("2100-02-01T00:00:00Z")).toBe(28 * DAY);
    expect(bucketEnd("1mo", at("2000-02-01T00:00:00Z")) - at("2000-02-01T00:00:00Z")).toBe(29 * DAY);
    expect(bucketEnd("1mo", at("2023-12-01T00:00:00Z"))).toBe(at("2024-01-01T00:00:00Z"));
  });
});

describe("candles", () => {
  it("keep open, high, low, close, volume and trade count", () => {
    const md = new MarketData();
    const t0 = at("2024-05-06T10:00:00Z");
    md.feed(trade(1, 100, 1), t0 + 1_000);
    md.feed(trade(2, 105, 2), t0 + 2_000);
    md.feed(trade(3, 98, 3), t0 + 3_000);
    md.feed(trade(4, 102, 4), t0 + 59_999);
    expect(md.candles("X", "1m", t0, t0 + 60_000)).toEqual([
      {
        start: t0,
        open: 100,
        high: 105,
        low: 98,
        close: 102,
        volume: 10,
        trades: 4,
        openTs: t0 + 1_000,
        closeTs: t0 + 59_999,
      },
    ]);
  });

  it("open a new bucket exactly at the boundary, and query [start, end)", () => {
    const md = new MarketData();
    const t0 = at("2024-05-06T10:00:00Z");
    md.feed(trade(1, 100, 1), t0 + 59_999);
    md.feed(trade(2, 110, 5), t0 + 60_000);
    md.feed(trade(3, 90, 2), t0 + 299_999);
    md.feed(trade(4, 95, 1), t0 + 300_000);
    const oneMinute = md.candles("X", "1m", 0, Number.MAX_SAFE_INTEGER);
    expect(oneMinute.map((c) => [c.start - t0, c.open, c.close, c.volume])).toEqual([
      [0, 100, 100, 1],
      [60_000, 110, 110, 5],
      [240_000, 90, 90, 2],
      [300_000, 95, 95, 1],
    ]);
    const fiveMinutes = md.candles("X", "5m", t0, t0 + 600_000);
    expect(fiveMinutes.map((c) => [c.start - t0, c.open, c.high, c.low, c.close, c.volume])).toEqual([
      [0, 100, 110, 90, 90, 8],
      [300_000, 95, 95, 95, 95, 1],
    ]);
    expect(md.candles("X", "1m", t0 + 60_000, t0 + 300_000).map((c) => c.start - t0)).toEqual([60_000, 240_000]);
    expect(md.candles("X", "1m", t0 + 1, t0 + 60_000)).toEqual([]);
    expect(md.candles("Y", "1m", 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
  });

  it("split months and weeks at their boundaries", () => {
    const md = new MarketData();
    md.feed(trade(1, 10, 1), at("2024-02-29T23:59:59.999Z")); // Thursday
    md.feed(trade(2, 20, 2), at("2024-03-01T00:00:00Z")); // Friday
    md.feed(trade(3, 30, 3), at("2024-03-04T00:00:00Z")); // Monday
    const all = (r: "1w" | "1mo") => md.candles("X", r, 0, Number.MAX_SAFE_INTEGER);
    expect(all("1mo").map((c) => [new Date(c.start).toISOString(), c.open, c.close, c.volume])).toEqual([
      ["2024-02-01T00:00:00.000Z", 10, 10, 1],
      ["2024-03-01T00:00:00.000Z", 20, 30, 5],
    ]);
    expect(all("1w").map((c) => [new Date(c.start).toISOString(), c.open, c.close, c.volume])).toEqual([
      ["2024-02-26T00:00:00.000Z", 10, 20, 3],
      ["2024-03-04T00:00:00.000Z", 30, 30, 3],
    ]);
  });

  it("are emitted as updates, one per resolution per trade", () => {
    const md = new MarketData();
    const t = at("2024-05-06T10:00:00Z");
    md.feed(trade(1, 100, 1), t);
    const updates = md.feed(trade(2, 90, 2), t + 1);
    expect(updates.map((u) => u.type)).toEqual(["trade", "candle", "candle", "candle", "candle", "candle"]);
    for (const r of RESOLUTIONS) {
      const u = updates.find((x) => x.type === "candle" && x.resolution === r);
      expect(u).toEqual({ type: "candle", sku: "X", resolution: r, candle: md.candles("X", r, 0, t + 1)[0] });
    }
  });

  it("never go back in time: a late timestamp counts at the latest time seen", () => {
    const md = new MarketData();
    const t = at("2024-05-06T10:01:00Z");
    md.feed(trade(1, 100, 1), t);
    md.feed(trade(2, 90, 1), t - 60_000);
    expect(md.candles("X", "1m", 0, Number.MAX_SAFE_INTEGER).map((c) => [c.start, c.close, c.volume])).toEqual([
      [t, 90, 2],
    ]);
    expect(md.trades("X").map((x) => x.ts)).toEqual([t, t]);
  });

  it("stay bounded: a million trades keep at most maxCandles per resolution", () => {
    const md = new MarketData({ maxCandles: 500, maxTrades: 100 });
    const t0 = at("2024-01-01T00:00:00Z");
    const n = 1_000_000;
    for (let i = 0; i < n; i++) md.feed(trade(i + 1, 1 + (i % 997), 1 + (i % 7)), t0 + i * 30_000);
    const last = t0 + (n - 1) * 30_000;
    const counts = RESOLUTIONS.map((r) => md.candles("X", r, 0, Number.MAX_SAFE_INTEGER).length);
    expect(counts).toEqual([500, 500, 500, 50, 12]); // 1e6 half-minutes: ~347 days, 50 weeks, 12 months
    const minutes = md.candles("X", "1m", 0, Number.MAX_SAFE_INTEGER);
    expect(minutes.at(-1)?.start).toBe(bucketStart("1m", last));
    expect(minutes[0]?.start).toBe(bucketStart("1m", last) - 499 * 60_000);
    expect(md.trades("X")).toHaveLength(100);
    expect(md.trades("X").at(-1)?.execId).toBe(n);
    expect(md.trades("X", 3).map((t) => t.execId)).toEqual([n - 2, n - 1, n]);
    const snap = md.snapshot().skus[0]!;
    expect(Object.values(snap.candles).every((c) => c.length <= 500)).toBe(true);
  });
});
