import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import type { Manifest } from "./manifest-validation.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const RENDERER_SOURCE = join(ROOT, "test/k8s/helm-render");
const BUILD_DIR = join(ROOT, ".tmp/helm-render");
const BINARY = join(BUILD_DIR, "helm-render");

export const chartDir = (name: string) => join(ROOT, "charts", name);

/**
 * Builds test/k8s/helm-render (Go's text/template + sprig, like Helm) offline against Debian's
 * Go packages: golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev.
 */
export function buildRenderer(): void {
  if (spawnSync("go", ["version"]).status !== 0) {
    throw new Error(
      "go is not installed: apt-get install -y golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev",
    );
  }
  mkdirSync(BUILD_DIR, { recursive: true });
  const build = spawnSync("go", ["build", "-o", BINARY, "."], {
    cwd: RENDERER_SOURCE,
    encoding: "utf8",
    env: {
      ...process.env,
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      GOFLAGS: "",
      GOCACHE: join(ROOT, ".tmp/go-build-cache"),
    },
  });
  if (build.status !== 0) throw new Error(`building helm-render failed:\n${build.stderr}`);
}

export interface Rendered {
  /** Each document with the chart file it came from. */
  documents: { source: string; manifest: Manifest }[];
  manifests: Manifest[];
  notes: string;
  values: Record<string, unknown>;
}

export class RenderError extends Error {}

/** `helm template <name> <chart> --namespace <ns> -f <values>`; documents parsed, empty ones dropped. */
export function render(chart: string, options: { name?: string; namespace?: string; values?: object } = {}): Rendered {
  const dir = mkdtempSync(join(tmpdir(), "helm-values-"));
  try {
    const args = [
      "-chart",
      chartDir(chart),
      "-name",
      options.name ?? chart,
      "-namespace",
      options.namespace ?? "default",
    ];
    if (options.values) {
      const file = join(dir, "values.yaml");
      writeFileSync(file, YAML.stringify(options.values));
      args.push("-values", file);
    }
    const run = spawnSync(BINARY, args, { encoding: "utf8" });
    if (run.status !== 0) throw new RenderError(run.stderr.trim());
    const output = JSON.parse(run.stdout) as {
      manifests: { source: string; content: string }[];
      notes: string;
      values: Record<string, unknown>;
    };
    const documents = output.manifests.flatMap(({ source, content }) =>
      YAML.parseAllDocuments(content)
        .map((doc) => {
          if (doc.errors.length) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join("; ")}`);
          return doc.toJS() as Manifest | null;
        })
        .filter((m): m is Manifest => m !== null)
        .map((manifest) => ({ source, manifest })),
    );
    return { documents, manifests: documents.map((d) => d.manifest), notes: output.notes, values: output.values };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
