import type { TradingHours, Weekday } from "@stockroom/contracts";

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Offsets change only at quarter hours in every IANA zone, so one lookup per quarter suffices. */
const QUARTER = 15 * MINUTE;
const WEEKDAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/**
 * Local calendar facts of sequenced timestamps in one timezone. Pure: the timezone database
 * is data, not a clock. The offset is cached per quarter hour because Intl is slow.
 */
export class LocalClock {
  private readonly format: Intl.DateTimeFormat;
  private cachedQuarter = Number.NaN;
  private cachedOffset = 0;
  /** Open spans in minutes per weekday (0 = Monday), or null when always open. */
  private readonly spans: ([number, number][] | undefined)[] | null;

  constructor(
    readonly timezone: string,
    hours: TradingHours | null,
  ) {
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    this.spans = hours ? WEEKDAYS.map((d) => hours[d]?.map((s) => [toMinutes(s.open), toMinutes(s.close)])) : null;
  }

  /** Days since 1970-01-01 of the local calendar date: the trading day. */
  day(ts: number): number {
    return Math.floor((ts + this.offset(ts)) / DAY);
  }

  isOpen(ts: number): boolean {
    if (this.spans === null) return true;
    const local = ts + this.offset(ts);
    const day = Math.floor(local / DAY);
    const spans = this.spans[(day + 3) % 7]; // 1970-01-01 was a Thursday
    if (!spans) return false;
    const minute = Math.floor((local - day * DAY) / MINUTE);
    for (const [open, close] of spans) if (open <= minute && minute < close) return true;
    return false;
  }

  private offset(ts: number): number {
    const quarter = Math.floor(ts / QUARTER);
    if (quarter !== this.cachedQuarter) {
      this.cachedQuarter = quarter;
      this.cachedOffset = this.lookUpOffset(quarter * QUARTER);
    }
    return this.cachedOffset;
  }

  private lookUpOffset(ts: number): number {
    const p: Record<string, number> = {};
    for (const part of this.format.formatToParts(ts)) if (part.type !== "literal") p[part.type] = Number(part.value);
    const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return wall - (ts - (((ts % 1000) + 1000) % 1000));
  }
}

function toMinutes(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}
