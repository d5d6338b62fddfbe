import { type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";

/** The replication contract (docs/replication.md). */
export const EVENTS_STREAM = "STOCKROOM_EVENTS";
export const EVENTS_SUBJECTS = "stockroom.events.>";
export const EVENTS_PREFIX = "stockroom.events.";
export const HEARTBEAT_BUCKET = "stockroom-outlets";
export const FIRST_SEQ_HEADER = "Stockroom-First-Seq";
export const LAST_SEQ_HEADER = "Stockroom-Last-Seq";
/** Settings of the stream, whoever creates it first. */
export const EVENTS_STREAM_CONFIG = {
  name: EVENTS_STREAM,
  subjects: [EVENTS_SUBJECTS],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  duplicate_window: 120_000_000_000,
  max_msg_size: 1024 * 1024,
};

export function eventsSubject(outletId: string): string {
  return `${EVENTS_PREFIX}${outletId}`;
}

/** The outlet a message's subject belongs to, or null for anything else. */
export function outletOfSubject(subject: string): string | null {
  if (!subject.startsWith(EVENTS_PREFIX)) return null;
  const id = subject.slice(EVENTS_PREFIX.length);
  return id.length > 0 && !id.includes(".") ? id : null;
}

/** Creates the stream with the contract's settings, or checks the one there covers its subjects. */
export async function ensureEventsStream(jsm: JetStreamManager): Promise<void> {
  try {
    const info = await jsm.streams.info(EVENTS_STREAM);
    if (!info.config.subjects?.includes(EVENTS_SUBJECTS)) {
      throw new Error(`stream ${EVENTS_STREAM} exists without subject ${EVENTS_SUBJECTS}`);
    }
  } catch (error) {
    if (!/stream not found/i.test((error as Error).message)) throw error;
    try {
      await jsm.streams.add(EVENTS_STREAM_CONFIG);
    } catch (addError) {
      // An outlet created it in the meantime: fine when it is there now.
      if (!/already in use/i.test((addError as Error).message)) throw addError;
    }
  }
}
