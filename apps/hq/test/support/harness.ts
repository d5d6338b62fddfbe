import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { type HqConfig, loadConfig } from "../../src/config.ts";
import { type RunningHq, startHq } from "../../src/hq.ts";

const dirs: string[] = [];

export function tempDir(prefix = "stockroom-hq-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** HQ in this process on a free port, with a temp data dir, consuming from `natsUrl`. */
export async function startTestHq(
  natsUrl: string | undefined,
  overrides: Partial<HqConfig> = {},
): Promise<RunningHq & { dataDir: string; config: HqConfig }> {
  const dataDir = overrides.dataDir ?? tempDir();
  const config = loadConfig({}, { port: 0, synchronous: "NORMAL", statusEveryMs: 100, ...overrides, dataDir, natsUrl });
  const hq = await startHq(config, { logger: pino({ level: process.env.HQ_TEST_LOG ?? "silent" }) });
  return { ...hq, dataDir, config };
}

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
