import { readFileSync, rmSync, writeFileSync } from "node:fs";

/**
 * One process per database: a pid file, taken over when its owner is gone (e.g. after kill -9).
 * Returns the release function.
 */
export function acquireLock(file: string, what: string): () => void {
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw error;
    const owner = Number(readFileSync(file, "utf8"));
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new Error(`${what} is in use by process ${owner} (${file})`);
    }
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
