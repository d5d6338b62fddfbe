/** The envelope's `v`. */
export const SCHEMA_VERSION: 1;

/** The hash of one event (see chain-hash.js): every envelope field but `hash`, the payload as its JSON text. */
export function hashEvent(
  v: number,
  outletId: string,
  seq: number,
  ts: number,
  type: string,
  actor: string,
  prevHash: string,
  payloadJson: string,
): string;
