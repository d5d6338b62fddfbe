import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import * as schema from "./schema.ts";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), "../../drizzle");

export interface OpenOptions {
  /**
   * FULL (default): every commit is fsync'd before the caller hears back, so an acknowledged
   * command survives a power cut. NORMAL: in WAL mode a commit survives a crash of the process
   * but the last commits may be lost if the machine itself goes down.
   */
  synchronous?: "FULL" | "NORMAL";
}

/** Opens an existing outlet database for reading only (another thread's view of it): no migrations. */
export function openReadOnly(file: string): Db {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  sqlite.pragma("busy_timeout = 5000");
  return drizzle(sqlite, { schema });
}

/** Opens (creating if needed) the outlet database in WAL mode and applies pending migrations. */
export function openDb(file: string, options: OpenOptions = {}): Db {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return db;
}
