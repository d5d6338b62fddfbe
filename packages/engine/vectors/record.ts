// Writes each step's `events:` into the vector files from the fast engine, after checking that
// the independent reference engine produces exactly the same. Review the diff before committing:
// the vectors are the engine's public contract.   node --import tsx packages/engine/vectors/record.ts
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { Engine } from "../src/index.ts";
import { ReferenceEngine } from "../test/reference/reference-engine.ts";
import { loadVectors, runScenario, VECTORS_DIR } from "./run-vectors.ts";

for (const vector of loadVectors()) {
  const path = join(VECTORS_DIR, vector.file);
  const doc = parseDocument(readFileSync(path, "utf8"));
  vector.scenarios.forEach((scenario, s) => {
    const reference: unknown[] = [];
    runScenario(new ReferenceEngine(), scenario, (_step, _i, events) => reference.push(events));
    runScenario(new Engine(), scenario, (_step, i, events) => {
      if (!isDeepStrictEqual(events, reference[i])) {
        throw new Error(`${vector.file} / ${scenario.name} / step ${i}: the engines disagree`);
      }
      doc.setIn(["scenarios", s, "steps", i, "events"], doc.createNode(events, { flow: false }));
    });
  });
  writeFileSync(path, doc.toString({ lineWidth: 0 }));
  console.log(`recorded ${vector.file}`);
}
