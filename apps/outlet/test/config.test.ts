import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "stockroom-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("outlet configuration", () => {
  it("takes trading hours and brand limits as JSON variables, over the file's", () => {
    const file = join(dir, "outlet.json");
    writeFileSync(file, JSON.stringify({ outletId: "store-1", brandLimits: { Acme: 5 } }));
    const config = loadConfig({
      STOCKROOM_CONFIG: file,
      STOCKROOM_TRADING_HOURS: '{"mon":[{"open":"09:00","close":"17:30"}]}',
      STOCKROOM_BRAND_LIMITS: '{"Acme":10,"Orchard":0}',
    });
    expect(config.tradingHours).toEqual({ mon: [{ open: "09:00", close: "17:30" }] });
    expect(config.brandLimits).toEqual({ Acme: 10, Orchard: 0 });
    expect(loadConfig({ STOCKROOM_CONFIG: file }).brandLimits).toEqual({ Acme: 5 });
  });

  it("names the variable of a setting that is not JSON, or not valid", () => {
    const base = { STOCKROOM_OUTLET_ID: "store-1" };
    expect(() => loadConfig({ ...base, STOCKROOM_BRAND_LIMITS: "Acme=10" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, STOCKROOM_BRAND_LIMITS: "Acme=10" })).toThrow(
      /^STOCKROOM_BRAND_LIMITS must be JSON: /,
    );
    expect(() => loadConfig({ ...base, STOCKROOM_BRAND_LIMITS: '{"Acme":-1}' })).toThrow(
      /brandLimits\.Acme \(STOCKROOM_BRAND_LIMITS\): /,
    );
    expect(() =>
      loadConfig({ ...base, STOCKROOM_TRADING_HOURS: '{"mon":[{"open":"18:00","close":"09:00"}]}' }),
    ).toThrow(/tradingHours\.mon\.0 \(STOCKROOM_TRADING_HOURS\): close must be after open/);
  });
});
