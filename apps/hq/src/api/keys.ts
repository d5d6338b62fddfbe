import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../storage/db.ts";
import { apiKeys } from "../storage/schema.ts";

/** HQ's roles: readers see everything; admins may also act on HQ's own state. */
export const HQ_ROLES = ["hq-reader", "hq-admin"] as const;
export type HqRole = (typeof HQ_ROLES)[number];

export interface Caller {
  keyId: string;
  name: string;
  role: HqRole;
}

/**
 * HQ's own API keys, `sr_<keyId>_<secret>` like the outlets'. Only sha256(secret) is stored:
 * the secret is 32 random bytes, so a fast hash is as safe as a slow one.
 */
export class ApiKeys {
  constructor(private readonly db: Db) {}

  issue(name: string, role: HqRole = "hq-reader", now = Date.now()): { keyId: string; apiKey: string } {
    const keyId = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    this.db
      .insert(apiKeys)
      .values({ keyId, name, role, secretHash: sha256(secret).toString("hex"), createdAt: now })
      .run();
    return { keyId, apiKey: `sr_${keyId}_${secret}` };
  }

  /** Revokes a key (a repeat keeps the first time); false when there is no such key. */
  revoke(keyId: string, now = Date.now()): boolean {
    this.db
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.keyId, keyId), isNull(apiKeys.revokedAt)))
      .run();
    return this.db.select().from(apiKeys).where(eq(apiKeys.keyId, keyId)).get() !== undefined;
  }

  list(): { keyId: string; name: string; role: string; createdAt: number; revokedAt: number | null }[] {
    return this.db
      .select({
        keyId: apiKeys.keyId,
        name: apiKeys.name,
        role: apiKeys.role,
        createdAt: apiKeys.createdAt,
        revokedAt: apiKeys.revokedAt,
      })
      .from(apiKeys)
      .all();
  }

  /**
   * Who an API key belongs to, or null for a malformed, unknown or revoked key. Read from the
   * database every time (a primary-key lookup): `admin revoke-key` runs in another process.
   */
  authenticate(apiKey: string): Caller | null {
    const match = /^sr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(apiKey);
    if (!match) return null;
    const [, keyId, secret] = match as unknown as [string, string, string];
    const row = this.db.select().from(apiKeys).where(eq(apiKeys.keyId, keyId)).get();
    if (!row || row.revokedAt !== null) return null;
    if (!timingSafeEqual(sha256(secret), Buffer.from(row.secretHash, "hex"))) return null;
    return { keyId, name: row.name, role: row.role as HqRole };
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
