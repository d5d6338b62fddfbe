// Checks envelope hashes on a worker thread, ahead of the main thread that applies them: each
// message (a JSON array of envelopes) comes back with the index of its first envelope whose
// hash does not match its content, or -1. The main thread still checks the chain itself
// (seq and prevHash against the last applied event) and recomputes any hash reported bad.
// Messages the main thread has already taken unchecked (it checks those itself) are skipped.
// The hash is @stockroom/contracts' hashEnvelope, written again here: this plain-JS thread does
// not load the TypeScript workspace (verifier.test.ts checks it against envelopes the contract sealed).
import { hash } from "node:crypto";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";

// What this thread does not check, the main thread does: on Linux, where a nice value is per
// thread, it yields the CPU to the threads that must keep up (apply, commit) instead of competing.
if (process.platform === "linux") setPriority(10);

const decoder = new TextDecoder();
/** The last message id the main thread took (verifier.ts). */
const taken = workerData.taken;

function envelopeHash(e) {
  return hash("sha256", JSON.stringify([e.v, e.outletId, e.seq, e.ts, e.type, e.actor, e.prevHash, e.payload]), "hex");
}

parentPort.on("message", ({ id, data }) => {
  if (id <= Atomics.load(taken, 0)) return;
  let bad = -1;
  try {
    const envelopes = JSON.parse(decoder.decode(data));
    if (!Array.isArray(envelopes)) bad = 0;
    else
      for (let i = 0; i < envelopes.length; i++) {
        const e = envelopes[i];
        if (typeof e !== "object" || e === null || envelopeHash(e) !== e.hash) {
          bad = i;
          break;
        }
      }
  } catch {
    bad = 0;
  }
  parentPort.postMessage({ id, bad });
});
