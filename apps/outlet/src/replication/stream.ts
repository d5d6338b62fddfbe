import { type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";

/** The stream every outlet publishes to and HQ consumes (docs/replication.md). */
export const EVENTS_STREAM = "STOCKROOM_EVENTS";
export const EVENTS_SUBJECTS = "stockroom.events.>";
export const HEARTBEAT_BUCKET = "stockroom-outlets";
export const FIRST_SEQ_HEADER = "Stockroom-First-Seq";
export const LAST_SEQ_HEADER = "Stockroom-Last-Seq";

export function eventsSubject(outletId: string): string {
  return `stockroom.events.${outletId}`;
}

/** Creates the stream, or checks the one there covers our subjects; safe to call from every node. */
export async function ensureEventsStream(jsm: JetStreamManager): Promise<void> {
  try {
    const info = await jsm.streams.info(EVENTS_STREAM);
    if (!info.config.subjects?.includes(EVENTS_SUBJECTS)) {
      throw new Error(`stream ${EVENTS_STREAM} exists without subject ${EVENTS_SUBJECTS}`);
    }
  } catch (error) {
    if (!/stream not found/i.test((error as Error).message)) throw error;
    await jsm.streams.add({
      name: EVENTS_STREAM,
      subjects: [EVENTS_SUBJECTS],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: 120_000_000_000,
      max_msg_size: 1024 * 1024,
    });
  }
}
