import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { Client, startNode } from "./harness.ts";

const BIN = fileURLToPath(new URL("../bin/stockroom-outlet.js", import.meta.url));
const KEY = /sr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-cli-"));
  dirs.push(dir);
  return dir;
}

/** The environment without any STOCKROOM_* variable of the test run, plus these. */
function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("STOCKROOM_")) env[k] = v;
  return { ...env, ...vars };
}

function start(args: string[], vars: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: envWith(vars), stdio: ["ignore", "pipe", "pipe"] });
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
function run(args: string[], vars: Record<string, string>): Promise<Ran> {
  const child = start(args, vars);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `serve` and resolves with its URL once it logs that it is serving. */
async function serve(vars: Record<string, string>): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = start(["serve"], {
    ...vars,
    STOCKROOM_PORT: "0",
    STOCKROOM_LOG_LEVEL: "info",
    STOCKROOM_TICK_EVERY_MS: "0",
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (d) => {
      buffer += d;
      for (const line of buffer.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "outlet serving") resolve(entry.url);
        } catch {
          // A partial line: wait for the rest.
        }
      }
    });
    exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

describe("stockroom-outlet CLI", () => {
  it("bootstraps an admin whose key works against the served node; admin commands refuse a running node", async () => {
    const vars = { STOCKROOM_OUTLET_ID: "cli-1", STOCKROOM_DATA_DIR: tempDir() };
    const boot = await run(["admin", "bootstrap"], vars);
    expect(boot.stderr).toBe("");
    expect(boot.code).toBe(0);
    expect(boot.stdout).toMatch(/^account admin: API key \(shown once, key id [0-9a-f]{12}\):/);
    const adminKey = KEY.exec(boot.stdout)![0];

    const created = await run(
      ["admin", "create-account", "till-1", "--role", "kiosk", "--verify", "--deposit", "500", "--key"],
      vars,
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("account till-1 created (kiosk)");
    const tillKey = KEY.exec(created.stdout)![0];

    const node = await serve(vars);
    try {
      const admin = new Client(node.url, adminKey);
      const me = await admin.get("/v1/accounts/me");
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ accountId: "admin", role: "admin", kyc: "verified" });
      expect((await admin.post("/v1/products", { sku: "CLI-1", name: "From the CLI", brand: "B" })).status).toBe(201);
      const till = await new Client(node.url, tillKey).get("/v1/accounts/me");
      expect(till.body).toMatchObject({ accountId: "till-1", role: "kiosk", kyc: "verified", balance: 500 });
      expect((await new Client(node.url, `${adminKey.slice(0, -1)}x`).get("/v1/accounts/me")).status).toBe(401);

      // The database belongs to the running node.
      const busy = await run(["admin", "issue-key", "admin"], vars);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/database is in use by process \d+/);
    } finally {
      expect(await node.stop()).toBe(0);
    }
  });

  it("verifies a good log, and fails with a clear message once an event row was altered or removed", async () => {
    // A log made by a real node, then three copies of it: untouched, one row altered, one row gone.
    const node = await startNode({ outletId: "cli-2" });
    await node.product("CLI-2");
    const seller = await node.account("seller");
    await node.account("buyer", { deposit: 5_000 });
    await seller.post("/v1/transact", { sku: "CLI-2", side: "inflow", price: 10, quantity: 10 });
    const digest = node.services.engine.digest();
    const { seq: count, hash: head } = node.services.log.head();
    const deposit = node.eventsAfter(0).find((e) => e.type === "wallet.deposited")!.seq;
    await node.stop();
    dirs.push(node.dir);
    const copies = ["good", "altered", "gap"].map((name) => {
      const dir = join(tempDir(), name);
      mkdirSync(dir);
      copyFileSync(join(node.dir, "outlet.db"), join(dir, "outlet.db"));
      return { STOCKROOM_OUTLET_ID: "cli-2", STOCKROOM_DATA_DIR: dir };
    });
    // Events are stored one row per committed group: alter the deposit's payload, drop its group.
    const altered = new Database(join(copies[1]!.STOCKROOM_DATA_DIR, "outlet.db"));
    const changed = altered
      .prepare(
        "UPDATE event_groups SET payloads = replace(payloads, '\"amount\":5000', '\"amount\":5000000') WHERE first_seq <= ? AND last_seq >= ?",
      )
      .run(deposit, deposit);
    expect(changed.changes).toBe(1);
    altered.close();
    const cut = new Database(join(copies[2]!.STOCKROOM_DATA_DIR, "outlet.db"));
    const group = cut
      .prepare("SELECT first_seq AS first, last_seq AS last FROM event_groups WHERE first_seq <= ? AND last_seq >= ?")
      .get(deposit, deposit) as { first: number; last: number };
    expect(cut.prepare("DELETE FROM event_groups WHERE first_seq = ?").run(group.first).changes).toBe(1);
    cut.close();

    const [good, tampered, gap] = (await Promise.all(copies.map((vars) => run(["verify"], vars)))) as [Ran, Ran, Ran];
    expect(good.stderr).toBe("");
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`hash chain ok: ${count} events, head ${head}`);
    expect(good.stdout).toContain(`digest from scratch: ${digest}`);
    expect(good.stdout).toMatch(/verified in \d+ ms/);

    expect(tampered.code).toBe(1);
    expect(tampered.stdout).not.toContain("hash chain ok");
    expect(tampered.stderr).toContain(`event ${deposit} was altered: its hash does not match`);
    expect(gap.code).toBe(1);
    expect(gap.stderr).toContain(`gap in the log: seq ${group.first - 1} is followed by ${group.last + 1}`);
  });

  it("refuses a bad configuration with a message naming the variable", async () => {
    const dir = tempDir();
    const [badPort, noOutlet, badFile] = await Promise.all([
      run(["verify"], { STOCKROOM_OUTLET_ID: "cli.3", STOCKROOM_DATA_DIR: dir, STOCKROOM_PORT: "abc" }),
      run(["serve"], {
        STOCKROOM_DATA_DIR: dir,
        STOCKROOM_TIMEZONE: "Mars/Olympus",
        STOCKROOM_NATS_CREDS: join(dir, "missing.creds"),
      }),
      run(["serve"], { STOCKROOM_CONFIG: join(dir, "missing.json") }),
    ]);
    expect(badPort.code).toBe(1);
    expect(badPort.stderr).toMatch(/invalid outlet configuration:\n/);
    expect(badPort.stderr).toMatch(/port \(STOCKROOM_PORT\): /);
    // An outlet id is a NATS subject token: a dot would split it.
    expect(badPort.stderr).toMatch(/outletId \(STOCKROOM_OUTLET_ID\): outlet id: 1-63 of/);
    // Every problem is listed, each with its variable.
    expect(noOutlet.code).toBe(1);
    expect(noOutlet.stderr).toMatch(/outletId \(STOCKROOM_OUTLET_ID\): /);
    expect(noOutlet.stderr).toMatch(/timezone \(STOCKROOM_TIMEZONE\): unknown IANA timezone/);
    expect(noOutlet.stderr).toMatch(/natsCreds \(STOCKROOM_NATS_CREDS\): no such file/);
    expect(badFile.code).toBe(1);
    expect(badFile.stderr).toContain(`cannot read STOCKROOM_CONFIG=${join(dir, "missing.json")}`);
    for (const r of [badPort, noOutlet, badFile]) expect(r.stdout).toBe("");
    expect(existsSync(join(dir, "outlet.db"))).toBe(false);
  });

  it("prints usage for no command and refuses unknown ones", async () => {
    const [none, unknown] = await Promise.all([
      run([], {}),
      run(["frobnicate"], { STOCKROOM_OUTLET_ID: "cli-4", STOCKROOM_DATA_DIR: tempDir() }),
    ]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain("stockroom-outlet <command>");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});
