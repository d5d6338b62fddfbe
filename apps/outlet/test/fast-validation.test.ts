import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { withFastValidation } from "../src/api/validation.ts";

/** An app whose hook answers 400 with the failing target and paths, like the gateway's. */
function app() {
  return withFastValidation(new OpenAPIHono(), (result, c) =>
    result.success
      ? undefined
      : c.json({ target: result.target, paths: result.error.issues.map((i) => i.path.join(".")) }, 400),
  );
}

const post = (body: string, type = "application/json") =>
  new Request("http://x/things/7?limit=3", { method: "POST", body, headers: { "content-type": type } });

describe("withFastValidation", () => {
  const a = app();
  a.openapi(
    createRoute({
      method: "post",
      path: "/things/{id}",
      request: {
        params: z.object({ id: z.coerce.number().int() }),
        query: z.object({ limit: z.coerce.number().int().max(10) }),
        body: {
          content: { "application/json": { schema: z.object({ name: z.string().trim().min(1) }) } },
          required: true,
        },
      },
      responses: { 200: { description: "ok" } },
    }),
    (c) => c.json({ ...c.req.valid("param"), ...c.req.valid("query"), ...c.req.valid("json") }, 200),
  );

  it("hands the handler the parsed params, query and body", async () => {
    const res = await a.fetch(post('{"name":"  box "}'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 7, limit: 3, name: "box" });
  });

  it("refuses through the hook, query before params before body", async () => {
    const res = await a.fetch(new Request("http://x/things/x?limit=99", { method: "POST", body: "{}" }));
    expect(await res.json()).toEqual({ target: "query", paths: ["limit"] });
    const res2 = await a.fetch(new Request("http://x/things/x?limit=1", { method: "POST", body: "{}" }));
    expect(await res2.json()).toEqual({ target: "param", paths: ["id"] });
    const res3 = await a.fetch(post('{"name":""}'));
    expect(await res3.json()).toEqual({ target: "json", paths: ["name"] });
  });

  it("answers 415 for another media type and 400 for JSON that does not parse", async () => {
    expect((await a.fetch(post('{"name":"a"}', "text/plain"))).status).toBe(415);
    expect((await a.fetch(post("{nope"))).status).toBe(400);
  });

  it("still runs schemas with async refinements", async () => {
    const b = app();
    b.openapi(
      createRoute({
        method: "post",
        path: "/things/{id}",
        request: {
          body: {
            content: {
              "application/json": {
                schema: z.object({ name: z.string() }).refine(async (v) => v.name !== "taken", "taken"),
              },
            },
            required: true,
          },
        },
        responses: { 200: { description: "ok" } },
      }),
      (c) => c.json(c.req.valid("json"), 200),
    );
    expect((await b.fetch(post('{"name":"free"}'))).status).toBe(200);
    expect((await b.fetch(post('{"name":"taken"}'))).status).toBe(400);
  });

  it("documents the routes as before", () => {
    const doc = a.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
    expect(Object.keys(doc.paths ?? {})).toEqual(["/things/{id}"]);
    expect(doc.paths?.["/things/{id}"]?.post?.requestBody).toBeDefined();
  });
});
