import type { Database, Statement } from "better-sqlite3";

export const INDEX_CURSOR: string;
export function skusOf(type: string, payload: Record<string, unknown>): string[];
export function indexKeys(type: string, actor: string, payloadJson: string, keys: string[]): void;
export function createIndexer(sqlite: Database): (maxEvents: number, stop?: () => boolean) => number;
export function prepareCursorSave(sqlite: Database): Statement<[string, number, number]>;
