// The lock shared by the threads that write the log (see log-worker.js for its slots): [0] is 0
// when free, 1 while the committer (or a tool catching up the index) writes, 2 while the log
// worker indexes; [1] is 1 while a writer waits for it, which ends an index transaction early.
// Plain JavaScript: the committer thread and the main thread both take it.

/** Waits until no one else writes, then holds the lock as a writer. */
export function acquireWriteLock(lock) {
  Atomics.store(lock, 1, 1);
  for (let held = Atomics.compareExchange(lock, 0, 0, 1); held !== 0; held = Atomics.compareExchange(lock, 0, 0, 1)) {
    Atomics.wait(lock, 0, held, 100);
  }
  Atomics.store(lock, 1, 0);
}

export function releaseWriteLock(lock) {
  Atomics.store(lock, 0, 0);
  Atomics.notify(lock, 0);
}
