import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * A secret kept in a stored answer (an API key issued under an Idempotency-Key, which a repeat
 * must get back) is sealed with AES-256-GCM under a key derived from the caller's own API key.
 * That key is never stored either, so the database alone opens nothing: only a repeat sent with
 * the same API key can. `scope` (the account and the Idempotency-Key) ties a seal to its answer.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

function sealingKey(callerKey: string, scope: string): Buffer {
  return Buffer.from(hkdfSync("sha256", callerKey, scope, "stockroom sealed answer", 32));
}

export function seal(secret: string, callerKey: string, scope: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", sealingKey(callerKey, scope), iv);
  const sealed = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
}

/** The secret, or null when another key (or another scope) sealed it. */
export function unseal(sealed: string, callerKey: string, scope: string): string | null {
  const raw = Buffer.from(sealed, "base64url");
  try {
    const decipher = createDecipheriv("aes-256-gcm", sealingKey(callerKey, scope), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}
