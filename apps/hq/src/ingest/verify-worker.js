// Checks envelope hashes on a worker thread, ahead of the main thread that applies them: each
// message (a JSON array of envelopes) comes back with the index of its first envelope whose
// hash does not match its content, or -1. The main thread still checks the chain itself
// (seq and prevHash against the last applied event) and recomputes any hash reported bad.
// The hash is @stockroom/contracts' hashEnvelope, computed the same way (see envelopeHash).
import { hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

const decoder = new TextDecoder();

function envelopeHash(e) {
  const head = JSON.stringify([e.v, e.outletId, e.seq, e.ts, e.type, e.actor, e.prevHash]);
  return hash("sha256", `${head.slice(0, -1)},${JSON.stringify(e.payload)}]`, "hex");
}

parentPort.on("message", ({ id, data }) => {
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
