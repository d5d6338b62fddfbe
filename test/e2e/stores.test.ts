// End to end in Chromium: the local stack (scripts/start.ts) with a real nats-server, two
// outlets and HQ when it exists; a store assistant at the north kiosk, an analyst at HQ.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Stack, type StackOutlet, startStack } from "../../scripts/start.ts";
import { type NatsServer, natsServerAvailable, startNatsServer } from "../support/nats-server.ts";
import { ARTIFACTS, chromiumAvailable, launchChromium, screenshot, watchErrors } from "./browser.ts";

const HQ_EXISTS = existsSync(join(import.meta.dirname, "../../apps/hq/bin/stockroom-hq.js"));
const READY = chromiumAvailable() && natsServerAvailable();
if (!READY) {
  console.warn("e2e skipped: needs /usr/bin/chromium and nats-server (apt-get install -y chromium nats-server)");
}

const SKU = "E2E-LAMP-001";
const log: string[] = [];
let nats: NatsServer;
let stack: Stack;
let north: StackOutlet;
let browser: Browser;
let kiosk: Page;
let kioskErrors: string[];
let hq: Page;
let hqErrors: string[];
let dataRoot: string;

async function api<T>(outlet: StackOutlet, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(outlet.url + path, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${outlet.keys.admin}`, "content-type": "application/json" },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** The north kiosk's own calls, beside the page. */
async function kioskApi<T>(path: string, method: string, body?: unknown): Promise<T> {
  const res = await fetch(north.url + path, {
    method,
    headers: { authorization: `Bearer ${north.keys.kiosk}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function readyz(outlet: StackOutlet) {
  return (await (await fetch(`${outlet.url}/readyz`)).json()) as {
    seq: number;
    replication: { state: string; lag: number } | null;
  };
}

/** expect.poll with room for a slow machine. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 5_000 });
const inventoryCell = (column: number) => hq.locator(`#inventory-table tr[data-sku="${SKU}"] td`).nth(column);
const tile = (id: string) => kiosk.locator(`#stock-${id} .value`);
const notice = () => kiosk.locator("#notice .notice-text");

describe.skipIf(!READY)("the stores in a browser", () => {
  beforeAll(async () => {
    dataRoot = mkdtempSync(join(tmpdir(), "stockroom-e2e-"));
    nats = await startNatsServer();
    [stack, browser] = await Promise.all([
      startStack({
        dataRoot,
        fresh: true,
        natsUrl: nats.url,
        outlets: [{ id: "north" }, { id: "south" }],
        hqPort: 0,
        skus: 40,
        checkpointEveryMs: 2_000,
        hqOfflineAfterMs: 4_000,
        print: (line) => log.push(line),
      }),
      launchChromium(),
    ]);
    north = stack.outlets[0]!;
    // A product of its own, so every number on screen is known.
    await api(north, "/v1/products", {
      method: "POST",
      body: { sku: SKU, name: "E2E desk lamp", brand: "Northwind", attributes: { colour: "brass" } },
    });
    kiosk = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    kioskErrors = watchErrors(kiosk);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await nats?.stop();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, "e2e-stack.log"), `${log.join("\n")}\n`);
    if (dataRoot) rmSync(dataRoot, { recursive: true, force: true });
  }, 60_000);

  test("a wrong key is refused with the problem's title; the kiosk key signs in", async () => {
    await kiosk.goto(`${north.url}/`);
    await poll(() => kiosk.textContent(".signin-card")).toContain("Outlet north");
    await kiosk.fill("#api-key", "sr_000000000000_not-a-real-key-not-a-real-key-not-a-real-k");
    await kiosk.click("button[type=submit]");
    await poll(() => kiosk.textContent("#signin-error")).toBe("The API key is unknown or revoked.");
    await screenshot(kiosk, "kiosk-sign-in");

    await kiosk.fill("#api-key", north.keys.kiosk!);
    await kiosk.click("button[type=submit]");
    await kiosk.waitForSelector("#product-name");
    await poll(() => kiosk.textContent("#account")).toContain("kiosk");
    await poll(() => kiosk.textContent("#live")).toContain("live");
  });

  test("receive stock: the inflow rests and the tiles show it live", async () => {
    await kiosk.fill("#search", "E2E");
    await kiosk.click(`#product-table tr[data-sku="${SKU}"]`);
    await poll(() => kiosk.textContent("#product-name")).toBe("E2E desk lamp");
    await poll(() => tile("available").textContent()).toBe("0");

    await kiosk.check("#side-inflow", { force: true });
    await kiosk.fill("#order-price", "12.50");
    await kiosk.fill("#order-quantity", "10");
    await kiosk.selectOption("#order-tif", "GTC");
    await kiosk.click("#order-submit");
    await poll(() => notice().textContent()).toMatch(/^Receipt #\d+ resting: 10 units on the book\.$/);
    await poll(() => tile("available").textContent()).toBe("10");
    await poll(() => tile("onhand").textContent()).toBe("10");
    await poll(() => kiosk.textContent("#depth")).toContain("12.50");
    await poll(() => kiosk.locator(`#product-table tr[data-sku="${SKU}"] td`).nth(2).textContent()).toBe("10");
  });

  test("an outflow that fills shows up as a live fill; a refusal shows its title", async () => {
    await kiosk.check("#side-outflow", { force: true });
    await kiosk.fill("#order-price", "13.00");
    await kiosk.fill("#order-quantity", "4");
    await kiosk.selectOption("#order-tif", "IOC");
    await kiosk.click("#order-submit");
    await poll(() => notice().textContent()).toMatch(/^Take-out #\d+ filled: 4 units at 12\.50\.$/);
    await poll(() => tile("available").textContent()).toBe("6");
    await poll(() => kiosk.locator("#fills li").first().textContent()).toContain("4 @ 12.50");
    await poll(() => kiosk.locator("#fills li.mine").first().textContent()).toContain("you");

    // All or nothing, more than there is: cancelled, nothing moves.
    await kiosk.fill("#order-quantity", "500");
    await kiosk.selectOption("#order-tif", "FOK");
    await kiosk.click("#order-submit");
    await poll(() => notice().textContent()).toMatch(/not filled: the book cannot fill all 500 units/);

    // Two million units: refused by the outlet's risk checks, and the page shows the problem's title.
    await kiosk.fill("#order-quantity", "2000000");
    await kiosk.selectOption("#order-tif", "GTC");
    await kiosk.click("#order-submit");
    await poll(() => kiosk.getAttribute("#notice", "class")).toBe("error");
    expect(await notice().textContent()).toMatch(/^[A-Z].+\.$/);
    await poll(() => tile("available").textContent()).toBe("6");
    await poll(() => tile("demand").textContent()).toBe("0");
  });

  test("resting demand can be reduced and cancelled", async () => {
    await kiosk.fill("#order-price", "5.00");
    await kiosk.fill("#order-quantity", "3");
    await kiosk.selectOption("#order-tif", "GTC");
    await kiosk.click("#order-submit");
    await poll(() => notice().textContent()).toMatch(/resting: 3 units/);
    const orderId = /#(\d+)/.exec((await notice().textContent())!)![1];
    await poll(() => tile("demand").textContent()).toBe("3");
    const order = kiosk.locator(`#orders-list li.order[data-order="${orderId}"]`);
    await poll(() => order.count()).toBe(1);
    await order.locator("input").fill("2");
    await order.getByRole("button", { name: "Reduce" }).click();
    await poll(() => tile("demand").textContent()).toBe("1");
    await order.getByRole("button", { name: "Cancel order" }).click();
    await poll(() => tile("demand").textContent()).toBe("0");
    await poll(() => order.count()).toBe(0);
  });

  test("a hold takes stock, counts down, and confirming it sells the held units", async () => {
    await kiosk.click("#cart-add");
    await kiosk.click("#cart-add");
    await kiosk.click("#cart-add");
    await poll(() => kiosk.inputValue("#cart-table tbody tr:first-child input[type=number]")).toBe("3");
    await kiosk.selectOption("#hold-ttl", "300000");
    await kiosk.click("#hold-place");
    await poll(() => notice().textContent()).toMatch(/^Hold hold-\w+ placed: 3 units, 37\.50 reserved\.$/);
    await poll(() => tile("held").textContent()).toBe("3");
    await poll(() => tile("available").textContent()).toBe("3");
    const hold = kiosk.locator("#holds-list li.hold").first();
    await poll(() => hold.locator(".ttl").textContent()).toMatch(/^expires in (5:00|4:5\d)$/);
    const first = await hold.locator(".ttl").textContent();
    await poll(() => hold.locator(".ttl").textContent()).not.toBe(first);
    await screenshot(kiosk, "kiosk-hold");

    await hold.getByRole("button", { name: "Confirm" }).click();
    await poll(() => notice().textContent()).toMatch(/confirmed: 3 units sold\./);
    await poll(() => tile("held").textContent()).toBe("0");
    await poll(() => tile("onhand").textContent()).toBe("3");
    await poll(() => kiosk.locator("#fills li").first().textContent()).toContain("3 @ 12.50");
    await poll(() => kiosk.locator("#holds-list").count()).toBe(0);
    await screenshot(kiosk, "kiosk");
  });

  test.skipIf(!HQ_EXISTS)("the HQ dashboard shows the new stock and the trade", async () => {
    hq = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    hqErrors = watchErrors(hq);
    await hq.goto(`${stack.hq!.url}/`);
    await hq.fill("#api-key", "sr_000000000000_not-a-real-key-not-a-real-key-not-a-real-k");
    await hq.click("button[type=submit]");
    await poll(() => hq.textContent("#signin-error")).not.toBe("");
    await hq.fill("#api-key", stack.hq!.key);
    await hq.click("button[type=submit]");
    await hq.waitForSelector("#outlets .outlet-card");
    await hq.fill("#inventory-search", "E2E");
    // on hand 3 at north (10 received, 4 sold, 3 held and sold)
    await expect.poll(() => inventoryCell(5).textContent(), { timeout: 20_000 }).toBe("3");
    await hq.click(`#inventory-table tr[data-sku="${SKU}"]`);
    await poll(() => hq.textContent(`tr[data-breakdown="${SKU}"]`)).toContain("north");
    await poll(() => hq.inputValue("#market-sku")).toBe(SKU);
    await poll(() => hq.textContent("#trades")).toContain("4 @ 12.50");
    await poll(() => hq.textContent("#trades")).toContain("3 @ 12.50");
    await poll(async () => Number(await hq.getAttribute("#chart", "data-candles"))).toBeGreaterThan(0);
    for (const r of ["5m", "1h", "1w", "1mo", "1m"]) {
      await hq.click(`#resolutions button[data-res="${r}"]`);
      await poll(async () => Number(await hq.getAttribute("#chart", "data-candles"))).toBeGreaterThan(0);
    }
    // Live, not polled (the book is polled every 10 s): a lot appears on HQ's ladder and goes again.
    const lot = await kioskApi<{ orderId: number }>("/v1/transact", "POST", {
      sku: SKU,
      side: "inflow",
      price: 999,
      quantity: 7,
      timeInForce: "GTC",
    });
    await expect.poll(() => hq.textContent("#hq-depth"), { timeout: 4_000 }).toContain("9.99");
    await kioskApi(`/v1/orders/${lot.orderId}`, "DELETE");
    await expect.poll(() => hq.textContent("#hq-depth"), { timeout: 4_000 }).not.toContain("9.99");

    await hq.fill("#exec-sku", SKU);
    await hq.click("#exec-apply");
    await poll(() => hq.locator("#exec-table tbody tr").count()).toBe(2);
    await poll(() => hq.textContent("#exec-table")).toContain("37.50");
    await poll(() => hq.textContent('#outlets [data-outlet="north"]')).toContain("online");
    await screenshot(hq, "hq");
  });

  test("with NATS down the kiosk keeps working; after a restart the outlet catches up", async () => {
    await expect.poll(async () => (await readyz(north)).replication?.state, { timeout: 10_000 }).toBe("caught_up");
    await nats.kill();
    await kiosk.check("#side-inflow", { force: true });
    await kiosk.fill("#order-price", "11.00");
    await kiosk.fill("#order-quantity", "20");
    await kiosk.selectOption("#order-tif", "GTC");
    await kiosk.click("#order-submit");
    await poll(() => notice().textContent()).toMatch(/resting: 20 units/);
    await poll(() => tile("available").textContent()).toBe("23");
    await expect
      .poll(async () => (await readyz(north)).replication, { timeout: 10_000 })
      .toMatchObject({ state: expect.not.stringMatching(/caught_up|replicating/) });
    expect((await readyz(north)).replication!.lag).toBeGreaterThan(0);
    await screenshot(kiosk, "kiosk-offline");

    if (HQ_EXISTS) {
      // HQ still shows what it had; the north outlet goes offline on its panel.
      await expect
        .poll(() => hq.textContent('#outlets [data-outlet="north"]'), { timeout: 15_000 })
        .toContain("offline");
      expect(await inventoryCell(5).textContent()).toBe("3");
      await screenshot(hq, "hq-offline");
    }

    await nats.restart();
    await expect
      .poll(async () => (await readyz(north)).replication, { timeout: 20_000 })
      .toMatchObject({ state: "caught_up", lag: 0 });
    if (HQ_EXISTS) {
      // HQ catches up on screen: the 20 units received while offline, the outlet back online.
      await expect.poll(() => inventoryCell(5).textContent(), { timeout: 20_000 }).toBe("23");
      await expect
        .poll(() => hq.textContent('#outlets [data-outlet="north"]'), { timeout: 15_000 })
        .toContain("online");
      await screenshot(hq, "hq");
      expect(hqErrors).toEqual([]);
    }
    expect(kioskErrors).toEqual([]);
  });
});
