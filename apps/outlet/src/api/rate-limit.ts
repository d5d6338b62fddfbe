/**
 * A token bucket per account: `burst` requests at once, refilled at `perSecond`. Answers how
 * long to wait when empty, for the Retry-After header.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(accountId: string): number {
    const now = this.now();
    let bucket = this.buckets.get(accountId);
    if (!bucket) {
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(accountId, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perSecond);
  }
}
