import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../src/work-queue.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("queues a key once however often it is added", async () => {
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
    q.add("ns/a");
    q.add("ns/a");
    q.add("ns/b");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("ns/a");
    expect(await q.get()).toBe("ns/b");
    q.shutDown();
  });

  it("never hands a key being processed to a second worker, and requeues it when done if it changed meanwhile", async () => {
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
    q.add("ns/a");
    const key = await q.get();
    q.add("ns/a");
    expect(q.length).toBe(0);
    const second = q.get();
    q.done(key!);
    expect(await second).toBe("ns/a");
    q.done("ns/a");
    expect(q.length).toBe(0);
    q.shutDown();
  });

  it("backs off exponentially per key, capped, and starts over once forgotten", () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited("ns/a"))).toEqual([10, 20, 40, 80, 100, 100]);
    expect(q.retries("ns/a")).toBe(6);
    expect(q.addRateLimited("ns/b")).toBe(10);
    q.forget("ns/a");
    expect(q.addRateLimited("ns/a")).toBe(10);
    q.shutDown();
  });

  it("adds a delayed key when due, keeping the earliest of several delays", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
    q.addAfter("ns/a", 1_000);
    q.addAfter("ns/a", 50);
    q.addAfter("ns/a", 500);
    vi.advanceTimersByTime(49);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.length).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(q.length).toBe(1);
    q.shutDown();
  });

  it("releases waiting workers with null on shutdown and drops pending delays", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ baseMs: 10, maxMs: 100 });
    const waiting = q.get();
    q.addAfter("ns/a", 10);
    q.shutDown();
    expect(await waiting).toBeNull();
    vi.advanceTimersByTime(100);
    expect(await q.get()).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });
});
