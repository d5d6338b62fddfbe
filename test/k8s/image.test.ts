import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RUN_AS_USER } from "../../apps/operator/src/index.ts";

// No Docker engine here: the Dockerfile and .dockerignore are checked for what the cluster
// objects rely on (the user id, the entry points), not built.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages = instructions.filter((l) => l.startsWith("FROM "));

describe("container image", () => {
  it("builds in stages on a slim Node LTS base", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeVersion = Number(instructions.find((l) => l.startsWith("ARG NODE_VERSION="))?.split("=")[1]);
    expect(nodeVersion % 2).toBe(0);
    expect(nodeVersion).toBeGreaterThanOrEqual(22);
    for (const stage of stages) expect(stage).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim( AS \w+)?$/);
    // The build stage installs everything, builds the two pages, then drops the dev dependencies.
    const build = instructions.find((l) => /npm ci/.test(l)) ?? "";
    expect(build).toMatch(
      /npm ci .*npm run build -w @stockroom\/kiosk-web -w @stockroom\/hq-web .*npm prune --omit=dev/,
    );
  });

  it("runs as the non-root user the operator's pods and the charts expect", () => {
    const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
    expect(finalStage.filter((l) => l.startsWith("USER "))).toEqual([`USER ${RUN_AS_USER}:${RUN_AS_USER}`]);
    expect(finalStage.join("\n")).toContain(`--uid ${RUN_AS_USER}`);
    const chartHelpers = readFileSync(join(ROOT, "charts/stockroom/templates/_helpers.tpl"), "utf8");
    expect(chartHelpers).toContain(`runAsUser: ${RUN_AS_USER}`);
  });

  it("puts one entry point per app on PATH, including the commands the operator runs", () => {
    expect(dockerfile).toMatch(/for entry in apps\/\*\/bin\/\*\.js; do ln -s "\/app\/\$\{entry\}"/);
    expect(instructions.some((l) => l.startsWith("ENV ") && l.includes("PATH=/app/bin:"))).toBe(true);
    for (const app of ["outlet", "operator"])
      expect(existsSync(join(ROOT, `apps/${app}/bin/stockroom-${app}.js`)), app).toBe(true);
  });

  it("gives Node the flags the outlet bench measures it with", () => {
    const options = /NODE_OPTIONS=(\S+)/.exec(instructions.find((l) => l.startsWith("ENV ")) ?? "")?.[1];
    expect(options).toBe("--max-semi-space-size=64");
    const bench = readFileSync(join(ROOT, "bench/outlet.ts"), "utf8");
    expect(bench).toContain(`const OUTLET_NODE_FLAGS = ${JSON.stringify(options!.split(" "))};`);
  });

  it("keeps the build context small and free of local state", () => {
    expect(ignored).toEqual(expect.arrayContaining([".git", ".tmp", "**/node_modules", "test", "apps/*/test"]));
    // Everything npm ci needs is sent: the lockfile and every workspace's package.json.
    for (const kept of ["package.json", "package-lock.json", "apps", "packages"]) expect(ignored).not.toContain(kept);
  });
});
