import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { countdown, money, parseMoney } from "../src/lib/dom.ts";
import { Api, ApiError, errorText } from "../src/lib/http.ts";
import { LiveStream } from "../src/lib/sse.ts";

describe("money", () => {
  test("minor units show as a decimal amount", () => {
    expect(money(399)).toBe("3.99");
    expect(money(5)).toBe("0.05");
    expect(money(100_000_000)).toBe("1,000,000.00");
    expect(money(-1250)).toBe("-12.50");
  });

  test("typed amounts become minor units without floating point", () => {
    expect(parseMoney("3.99")).toBe(399);
    expect(parseMoney("4")).toBe(400);
    expect(parseMoney("0.5")).toBe(50);
    expect(parseMoney(" 12,30 ")).toBe(1230);
    expect(parseMoney("0.29")).toBe(29); // 0.29 * 100 is 28.999999999999996 in floating point
    for (const bad of ["", "abc", "1.234", "-1", "1e3"]) expect(parseMoney(bad)).toBeNull();
  });

  test("countdowns", () => {
    expect(countdown(299_100)).toBe("5:00");
    expect(countdown(61_000)).toBe("1:01");
    expect(countdown(3_723_000)).toBe("1:02:03");
    expect(countdown(-5)).toBe("0:00");
  });
});

describe("Api and LiveStream against a server", () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      if (req.url === "/problem") {
        res.writeHead(409, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "x", title: "Not enough stock is available.", status: 409 }));
      } else if (req.url === "/schema") {
        res.writeHead(400, { "content-type": "application/problem+json" });
        res.end(
          JSON.stringify({
            title: "The request does not match the schema.",
            errors: [{ path: "price", message: "too small" }],
          }),
        );
      } else if (req.url?.startsWith("/stream")) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        // One event split across writes, CRLF line ends, a comment and a ping.
        res.write(": hello\r\n\r\nevent: stock\r\nda");
        setTimeout(() => res.write('ta: {"sku":"A","available":3}\r\n\r\n'), 20);
        setTimeout(() => res.write('event: ping\ndata: {}\n\nevent: fill\ndata: {"execId":7}\n\n'), 40);
      } else if (req.url === "/gone") {
        res.writeHead(404, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ title: "No such route." }));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: true }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  test("errors carry the problem's title; the key goes as a bearer", async () => {
    const api = new Api(base, "sr_key");
    expect(await api.get("/ok", { q: "x", empty: "", none: undefined })).toEqual({ ok: true });
    expect(seen.at(-1)).toBe("GET /ok?q=x Bearer sr_key");
    const error = await api.post("/problem", {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(errorText(error)).toBe("Not enough stock is available.");
    expect(errorText(await api.post("/schema", {}).catch((e: unknown) => e))).toBe(
      "The request does not match the schema. price: too small",
    );
  });

  test("the stream parses events across chunks and sends the header", async () => {
    const events: [string, unknown][] = [];
    const states: boolean[] = [];
    const stream = new LiveStream({
      url: `${base}/stream?skus=A`,
      headers: { authorization: "Bearer sr_key" },
      onEvent: (event, data) => events.push([event, data]),
      onState: (connected) => states.push(connected),
    });
    await expect.poll(() => events.length).toBe(3);
    stream.stop();
    expect(events).toEqual([
      ["stock", { sku: "A", available: 3 }],
      ["ping", {}],
      ["fill", { execId: 7 }],
    ]);
    expect(states[0]).toBe(true);
    expect(seen).toContain("GET /stream?skus=A Bearer sr_key");
  });

  test("a 404 stops the stream for good", async () => {
    const states: [boolean, string | undefined][] = [];
    const stream = new LiveStream({
      url: `${base}/gone`,
      headers: {},
      onEvent: () => {},
      onState: (connected, error) => states.push([connected, error]),
    });
    await expect.poll(() => states.length).toBe(1);
    expect(states[0]).toEqual([false, "No such route."]);
    expect(stream.active).toBe(false);
  });
});
