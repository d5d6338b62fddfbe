/**
 * Load driver for test/crash-safety.test.ts, run in its own process:
 *
 *   node --import tsx test/support/crash-load.ts '<CrashLoadConfig as JSON>'
 *
 * Workers send orders, order cancels, holds and hold confirms/cancels to an outlet, every write
 * with an Idempotency-Key (also put in the order's or hold's `reference`, so the log can be
 * searched for it). A write that gets no definite answer (connection refused or reset while the
 * outlet is being killed, 503, 429) is in doubt and is sent again, byte for byte, until it gets
 * one. Every acknowledged answer is appended to the ack file with a synchronous write before the
 * worker moves on, so the file never claims less than what the outlet acknowledged.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface CrashLoadConfig {
  url: string;
  accounts: { id: string; key: string }[];
  skus: string[];
  ackFile: string;
  seed: number;
  concurrency: number;
}

/** One line of the ack file: a request that got a definite answer, and that answer. */
export interface Ack {
  /** What was asked. */
  t: "order" | "cancel" | "hold" | "confirm" | "release" | "error";
  account: string;
  key: string;
  method: string;
  path: string;
  /** The exact body sent (null: none). */
  body: string | null;
  status: number;
  /** sha256 of the answer's body text, as received. */
  hash: string;
  /** The answer's sequence number, when it gives one (orders, rejections). */
  seq: number | null;
  orderId: number | null;
  holdId: string | null;
  /** Sent more than once because an earlier attempt got no definite answer. */
  retried: boolean;
}

/** mulberry32: a small seeded PRNG, so a run's request mix can be repeated. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as CrashLoadConfig;
  const fd = openSync(config.ackFile, "a");
  let stopping = false;
  process.once("SIGTERM", () => {
    stopping = true;
    closeSync(fd);
    process.exit(0);
  });
  const random = prng(config.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const resting = new Map<string, number[]>(config.accounts.map((a) => [a.id, []]));
  let counter = 0;

  const record = (ack: Ack) => {
    writeSync(fd, `${JSON.stringify(ack)}\n`);
  };

  /** Sends until a definite answer (anything but no answer, 503 or 429). */
  const send = async (
    t: Ack["t"],
    account: { id: string; key: string },
    method: string,
    path: string,
    body: ((key: string) => unknown) | undefined,
    holdId: string | null = null,
  ): Promise<{ ack: Ack; json: Record<string, unknown> } | null> => {
    const key = `${config.seed}-${t}-${++counter}`;
    const text = body === undefined ? null : JSON.stringify(body(key));
    let retried = false;
    for (;;) {
      if (stopping) return null;
      let status: number;
      let answer: string;
      try {
        const res = await fetch(config.url + path, {
          method,
          headers: {
            authorization: `Bearer ${account.key}`,
            "idempotency-key": key,
            ...(text === null ? {} : { "content-type": "application/json" }),
          },
          body: text,
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        answer = await res.text();
      } catch {
        retried = true;
        await sleep(30 + random() * 40);
        continue;
      }
      if (status === 503 || status === 429) {
        retried = true;
        await sleep(30 + random() * 40);
        continue;
      }
      const hash = createHash("sha256").update(answer).digest("hex");
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(answer);
      } catch {}
      // An events answer: its own event is the last (hold expiries due by then come first).
      const last = Array.isArray(json.events) ? (json.events.at(-1) as { seq?: unknown } | undefined) : undefined;
      const seq = typeof json.seq === "number" ? json.seq : typeof last?.seq === "number" ? last.seq : null;
      const orderId = typeof json.orderId === "number" ? json.orderId : null;
      const ack: Ack = {
        t: status >= 500 ? "error" : t,
        account: account.id,
        key,
        method,
        path,
        body: text,
        status,
        hash,
        seq,
        orderId,
        holdId,
        retried,
      };
      record(ack);
      return { ack, json };
    }
  };

  const placeOrder = async () => {
    const account = pick(config.accounts);
    const inflow = random() < 0.5;
    const ioc = !inflow && random() < 0.7;
    const order = {
      sku: pick(config.skus),
      side: inflow ? "inflow" : "outflow",
      price: inflow ? between(95, 105) : ioc ? between(100, 110) : between(90, 99),
      quantity: between(1, 4),
      timeInForce: ioc ? "IOC" : "GTC",
    };
    const answer = await send("order", account, "POST", "/v1/transact", (key: string) => ({
      ...order,
      reference: key,
    }));
    if (answer?.ack.status === 201 && answer.json.status !== "filled" && answer.json.status !== "cancelled") {
      resting.get(account.id)!.push(answer.ack.orderId!);
    }
  };

  const cancelOrder = async () => {
    const account = pick(config.accounts);
    const mine = resting.get(account.id)!;
    if (mine.length === 0) return placeOrder();
    const [orderId] = mine.splice(Math.floor(random() * mine.length), 1);
    await send("cancel", account, "DELETE", `/v1/orders/${orderId}`, undefined);
  };

  const holdFlow = async () => {
    const account = pick(config.accounts);
    const holdId = `${config.seed}-hold-${++counter}`;
    const lines = Array.from({ length: between(1, 2) }, () => ({ sku: pick(config.skus), quantity: between(1, 3) }));
    const placed = await send(
      "hold",
      account,
      "POST",
      "/v1/holds",
      (key: string) => ({ holdId, lines, ttlMs: random() < 0.2 ? 1_500 : 60_000, reference: key }),
      holdId,
    );
    if (placed?.ack.status !== 201) return;
    const r = random();
    if (r < 0.45) await send("confirm", account, "POST", `/v1/holds/${holdId}/confirm`, undefined, holdId);
    else if (r < 0.9) await send("release", account, "POST", `/v1/holds/${holdId}/cancel`, undefined, holdId);
  };

  const worker = async () => {
    while (!stopping) {
      const r = random();
      if (r < 0.6) await placeOrder();
      else if (r < 0.75) await cancelOrder();
      else await holdFlow();
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, worker));
}

// Run only as the driver process, not when the test imports its types and prng.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
