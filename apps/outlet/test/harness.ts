import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, type CommandInput, type EventEnvelope, type Role } from "@stockroom/contracts";
import { digestOf } from "@stockroom/engine";
import { expect } from "vitest";
import { PROBLEM_BASE } from "../src/api/problem.ts";
import { loadConfig, type OutletConfig } from "../src/config.ts";
import { type RunningOutlet, startOutlet } from "../src/node.ts";

/** Response bodies are asserted field by field, so they are loosely typed. */
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, asserted in the tests
export type Json = any;

export interface Res {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, else null. */
  body: Json;
  text: string;
}

export interface RequestOptions {
  /** A value to send as JSON, or a string sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls the outlet API with one API key (or none). */
export class Client {
  constructor(
    private readonly base: string | (() => string),
    readonly key: string | null,
    readonly accountId: string | null = null,
  ) {}

  get url(): string {
    return typeof this.base === "string" ? this.base : this.base();
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Res> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.key !== null && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization")) {
      headers.authorization = `Bearer ${this.key}`;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(this.url + path, { method, headers, body });
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    return {
      status: response.status,
      headers: response.headers,
      body: type.includes("json") && text ? JSON.parse(text) : null,
      text,
    };
  }

  get(path: string, headers?: Record<string, string>): Promise<Res> {
    return this.request("GET", path, { headers });
  }
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Res> {
    return this.request("POST", path, { body, headers });
  }
  patch(path: string, body?: unknown, headers?: Record<string, string>): Promise<Res> {
    return this.request("PATCH", path, { body, headers });
  }
  delete(path: string, headers?: Record<string, string>): Promise<Res> {
    return this.request("DELETE", path, { headers });
  }
}

export interface TestNode extends RunningOutlet {
  dir: string;
  config: OutletConfig;
  /** A verified admin account ("admin"). */
  admin: Client;
  /** A client without a key. */
  anonymous: Client;
  client(key: string | null, accountId?: string): Client;
  /** Sequences a command as `actor`; throws on a rejection. */
  submit(input: CommandInput, actor?: string): Promise<EventEnvelope[]>;
  /** Creates an account (verified unless told otherwise), funds it and returns a client with a fresh key. */
  account(
    accountId: string,
    options?: { role?: Role; kyc?: "pending" | "verified" | "suspended"; deposit?: number },
  ): Promise<Client>;
  product(sku: string, brand?: string, name?: string): Promise<void>;
  /** Committed envelopes with seq > after. */
  eventsAfter(after: number): EventEnvelope[];
  /** Stops the node and starts it again over the same database (its clients follow it). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a real outlet node on port 0 over a fresh SQLite file in a temp dir, with an admin account. */
export async function startNode(overrides: Partial<OutletConfig> = {}): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-outlet-test-"));
  const config = loadConfig(
    {},
    {
      outletId: "outlet-test",
      dataDir: dir,
      port: 0,
      tickEveryMs: 0,
      // No checkpoint may land in the middle of a "the log did not grow" assertion.
      checkpointEveryMs: 3_600_000,
      logLevel: "silent",
      ...overrides,
    },
  );
  const running = await startOutlet(config);
  const submit = async (input: CommandInput, actor = "system") => {
    const envelopes = await node.services.writer.submit(Command.parse(input), actor);
    const rejected = envelopes.find((e) => e.payload.type === "command.rejected");
    if (rejected?.payload.type === "command.rejected") {
      throw new Error(`${input.type} rejected: ${rejected.payload.reason}`);
    }
    return envelopes;
  };
  // Clients follow the node across restarts (each restart listens on a new port).
  const client = (key: string | null, accountId?: string) => new Client(() => node.url, key, accountId ?? null);
  const account: TestNode["account"] = async (accountId, options = {}) => {
    await submit({ type: "account.create", accountId, role: options.role ?? "kiosk", name: accountId });
    const kyc = options.kyc ?? "verified";
    if (kyc !== "pending") await submit({ type: "account.kyc", accountId, kyc });
    if (options.deposit) await submit({ type: "wallet.deposit", accountId, amount: options.deposit });
    return client(node.services.credentials.issue(accountId).apiKey, accountId);
  };
  const node: TestNode = {
    ...running,
    dir,
    config,
    admin: client(null),
    anonymous: client(null),
    client,
    submit,
    account,
    product: async (sku, brand = "Acme", name = `Product ${sku}`) => {
      await submit({ type: "product.add", sku, name, brand });
    },
    eventsAfter: (after) => [...node.services.log.read(after)],
    restart: async () => {
      await node.stop();
      const again = await startOutlet(config);
      Object.assign(node, { services: again.services, url: again.url, stop: again.stop });
    },
    close: async () => {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  node.admin = await account("admin", { role: "admin" });
  return node;
}

/** Asserts an `application/problem+json` answer with this status and problem type slug. */
export function expectProblem(res: Res, status: number, slug: string): void {
  expect({ status: res.status, type: res.body?.type }, res.text).toEqual({ status, type: PROBLEM_BASE + slug });
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body.status).toBe(status);
  expect(typeof res.body.title).toBe("string");
  expect(res.body.title.length).toBeGreaterThan(5);
}

/** The engine's state without its clock: a sequenced rejection moves time forward and nothing else. */
export function stateDigest(node: TestNode): string {
  const { lastTs: _lastTs, ...state } = node.services.engine.snapshot();
  return digestOf(state as never);
}

/**
 * Runs a request that must be refused before sequencing (auth, validation, size, rate limit,
 * idempotency): the answer is the problem, the engine's digest and the log are untouched.
 */
export async function expectRefused(
  node: TestNode,
  send: () => Promise<Res>,
  status: number,
  slug: string,
): Promise<Res> {
  const digest = node.services.engine.digest();
  const seq = node.services.writer.lastSeq;
  const res = await send();
  expectProblem(res, status, slug);
  expect(node.services.engine.digest()).toBe(digest);
  expect(node.services.writer.lastSeq).toBe(seq);
  expect(node.services.log.head().seq).toBe(seq);
  return res;
}

/**
 * Runs a request the engine must reject: the answer is the problem, the log grew by exactly one
 * `command.rejected` event with this reason (rejections are events), and nothing else changed.
 */
export async function expectRejected(
  node: TestNode,
  send: () => Promise<Res>,
  status: number,
  reason: string,
): Promise<Res> {
  const state = stateDigest(node);
  const lastTs = node.services.engine.snapshot().lastTs;
  const seq = node.services.writer.lastSeq;
  const res = await send();
  expectProblem(res, status, reason.replaceAll("_", "-"));
  expect(res.body.reason).toBe(reason);
  const added = node.eventsAfter(seq);
  expect(added.map((e) => e.payload.type)).toEqual(["command.rejected"]);
  expect(added[0]!.payload).toMatchObject({ type: "command.rejected", reason });
  expect(res.body.seq).toBe(added[0]!.seq);
  // Unchanged but for the sequenced clock, which the rejection event moves forward.
  expect(stateDigest(node)).toBe(state);
  expect(node.services.engine.snapshot().lastTs).toBe(Math.max(lastTs, added[0]!.ts));
  return res;
}

/** Parses a text/event-stream as it arrives. */
export class SseReader {
  private buffer = "";
  private readonly decoder = new TextDecoder();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly abort: AbortController,
  ) {
    this.reader = body.getReader();
  }

  /** The next event (skipping pings); rejects when the stream ends. */
  async next(): Promise<{ event: string; data: Json }> {
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        let event = "message";
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (event === "ping") continue;
        return { event, data: JSON.parse(data.join("\n")) };
      }
      const { done, value } = await this.reader.read();
      if (done) throw new Error("the event stream ended");
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Reads events until `match` is seen; returns every event read, the match last. */
  async until(match: (e: { event: string; data: Json }) => boolean): Promise<{ event: string; data: Json }[]> {
    const seen: { event: string; data: Json }[] = [];
    for (;;) {
      const e = await this.next();
      seen.push(e);
      if (match(e)) return seen;
    }
  }

  close(): void {
    this.abort.abort();
  }
}

/** Polls `check` until it holds (for effects of timers, never as a speed-up). */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
