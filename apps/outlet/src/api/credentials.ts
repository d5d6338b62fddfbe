import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../storage/db.ts";
import { credentials } from "../storage/schema.ts";

/**
 * API keys look like `sr_<keyId>_<secret>`. Only sha256(secret) is stored: the secret is 32
 * random bytes, so a fast hash is as safe as a slow one and keeps every request cheap.
 */
export class Credentials {
  /** keyId → account and secret hash; filled lazily, dropped on revoke. */
  private readonly cache = new Map<string, { accountId: string; secretHash: Buffer; revoked: boolean }>();
  /** Whole API keys already verified → their keyId and account, so a request needs no hashing; revoke drops them. */
  private readonly verified = new Map<string, { keyId: string; accountId: string }>();

  constructor(private readonly db: Db) {}

  issue(accountId: string, now = Date.now()): { keyId: string; apiKey: string } {
    const keyId = randomBytes(6).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    this.db
      .insert(credentials)
      .values({ keyId, accountId, secretHash: sha256(secret).toString("hex"), createdAt: now })
      .run();
    // Not cached here: the caller's transaction may still roll it back. Its first use reads it.
    return { keyId, apiKey: `sr_${keyId}_${secret}` };
  }

  /** Revokes the key (a repeat keeps the first revocation time); false when there is no such key. */
  revoke(keyId: string, now = Date.now()): boolean {
    this.db
      .update(credentials)
      .set({ revokedAt: now })
      .where(and(eq(credentials.keyId, keyId), isNull(credentials.revokedAt)))
      .run();
    this.cache.delete(keyId);
    for (const [apiKey, v] of this.verified) if (v.keyId === keyId) this.verified.delete(apiKey);
    return this.db.select().from(credentials).where(eq(credentials.keyId, keyId)).get() !== undefined;
  }

  list(accountId: string): { keyId: string; createdAt: number; revokedAt: number | null }[] {
    return this.db
      .select({ keyId: credentials.keyId, createdAt: credentials.createdAt, revokedAt: credentials.revokedAt })
      .from(credentials)
      .where(eq(credentials.accountId, accountId))
      .all();
  }

  /** The account an API key belongs to, or null for a malformed, unknown or revoked key. */
  authenticate(apiKey: string): string | null {
    const known = this.verified.get(apiKey);
    if (known) return known.accountId;
    const match = /^sr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/.exec(apiKey);
    if (!match) return null;
    const [, keyId, secret] = match as unknown as [string, string, string];
    let entry = this.cache.get(keyId);
    if (!entry) {
      const row = this.db.select().from(credentials).where(eq(credentials.keyId, keyId)).get();
      if (!row) return null;
      entry = {
        accountId: row.accountId,
        secretHash: Buffer.from(row.secretHash, "hex"),
        revoked: row.revokedAt !== null,
      };
      this.cache.set(keyId, entry);
    }
    if (entry.revoked || !timingSafeEqual(sha256(secret), entry.secretHash)) return null;
    this.verified.set(apiKey, { keyId, accountId: entry.accountId });
    return entry.accountId;
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
