export function acquireWriteLock(lock: Int32Array): void;
export function releaseWriteLock(lock: Int32Array): void;
