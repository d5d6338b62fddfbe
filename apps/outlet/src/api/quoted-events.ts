import type { EventEnvelope } from "@stockroom/contracts";
import type { EventLog } from "../storage/event-log.ts";

/** How an envelope quoted before its commit reads in a stored answer. */
const UNHASHED = '"prevHash":"","payload":';

/**
 * A stored answer's JSON with the envelopes it quotes completed from the log. An answer is
 * committed with its command's events, before the committer thread has hashed them, so an
 * events answer (alone, or among a batch's results) is stored with their prevHash and hash
 * empty; the log has them. Returns the JSON unchanged, unparsed, when it quotes none.
 */
export function withHashes(json: string, log: EventLog): string {
  if (!json.includes(UNHASHED)) return json;
  const body = JSON.parse(json) as unknown;
  const unhashed = quoted(body).filter((e) => e.hash === "");
  if (unhashed.length === 0) return json;
  let from = Number.MAX_SAFE_INTEGER;
  let to = 0;
  for (const e of unhashed) {
    from = Math.min(from, e.seq);
    to = Math.max(to, e.seq);
  }
  const logged = new Map<number, EventEnvelope>();
  for (const e of log.read(from - 1, to)) logged.set(e.seq, e);
  for (const e of unhashed) {
    const sealed = logged.get(e.seq);
    if (!sealed) throw new Error(`a stored answer quotes event ${e.seq}, which the log does not have`);
    e.prevHash = sealed.prevHash;
    e.hash = sealed.hash;
  }
  return JSON.stringify(body);
}

/** The envelopes an answer quotes: an events answer's, or those of a batch's results. */
function quoted(body: unknown): EventEnvelope[] {
  const events = (answer: unknown): EventEnvelope[] => {
    const list = (answer as { events?: unknown } | null)?.events;
    return Array.isArray(list) ? list : [];
  };
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return events(body);
  return results.flatMap((r: { body?: unknown } | null) => events(r?.body));
}
