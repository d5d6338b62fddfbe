// The local stack's pieces that need no process: demo data against the contracts, log lines.
import { Command } from "@stockroom/contracts";
import { describe, expect, test } from "vitest";
import { accountCommands, demoCatalog, formatLine, seedCommands } from "../../scripts/start.ts";

describe("demo data", () => {
  test("a few hundred distinct products over several brands, the same every time", () => {
    const catalog = demoCatalog(300);
    expect(catalog).toHaveLength(300);
    expect(new Set(catalog.map((p) => p.sku)).size).toBe(300);
    expect(new Set(catalog.map((p) => p.brand)).size).toBeGreaterThanOrEqual(6);
    expect(demoCatalog(300)).toEqual(catalog);
    for (const p of catalog) expect(Number.isInteger(p.base) && p.base > 0).toBe(true);
  });

  test("every seed command is a valid command; outlets differ in stock, not in catalog", () => {
    const catalog = demoCatalog(120);
    const north = [...accountCommands(), ...seedCommands("north", catalog)];
    const south = seedCommands("south", catalog);
    for (const c of north) expect(Command.safeParse(c).success, JSON.stringify(c)).toBe(true);
    const adds = (cs: typeof south) => cs.filter((c) => c.type === "product.add");
    expect(adds(south)).toEqual(adds(north));
    expect(south).not.toEqual(north.slice(accountCommands().length));
    const receipts = north.filter((c) => c.type === "order.place" && c.side === "inflow");
    expect(receipts.length).toBeGreaterThan(catalog.length);
  });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: colours on a terminal
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

describe("log lines", () => {
  test("pino JSON becomes time, service, level, message and key=value", () => {
    const line = plain(
      formatLine(
        "north",
        JSON.stringify({
          level: 40,
          time: Date.UTC(2026, 0, 1, 9, 30),
          pid: 1,
          hostname: "h",
          msg: "retrying",
          err: "x y",
          n: 3,
        }),
      ),
    );
    expect(line).toMatch(/^\d\d:\d\d:\d\d north\s+WARN\s+retrying {2}err="x y" n=3$/);
    expect(plain(formatLine("nats", "plain text"))).toMatch(/^\d\d:\d\d:\d\d nats\s+plain text$/);
  });
});
