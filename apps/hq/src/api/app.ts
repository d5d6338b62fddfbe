import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serveStatic } from "@hono/node-server/serve-static";
import { OpenAPIHono } from "@hono/zod-openapi";
import { ProblemError, problemResponse } from "@stockroom/service";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { inSpan } from "../telemetry/tracing.ts";
import type { HqEnv, HqServices } from "./context.ts";
import { marketDataRoutes } from "./routes/marketdata.ts";
import { readRoutes } from "./routes/read.ts";
import { streamRoutes } from "./routes/stream.ts";

/** The HQ dashboard's built assets (`npm run build -w @stockroom/hq-web`), served at `/` when present. */
export const DASHBOARD_DIST = fileURLToPath(new URL("../../../hq-web/dist", import.meta.url));

/** HQ's HTTP API: the read side across outlets, live updates, health and metrics. */
export function createApp(svc: HqServices): OpenAPIHono<HqEnv> {
  const app = new OpenAPIHono<HqEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ProblemError(400, "validation-error", "The request does not match the schema.", {
          errors: result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
        });
      }
    },
  });

  app.use("*", (c, next) =>
    inSpan(`HTTP ${c.req.method}`, async (span) => {
      await next();
      const route = routePath(c);
      span.setAttributes({
        "http.request.method": c.req.method,
        "http.route": route,
        "http.response.status_code": c.res.status,
      });
      svc.metrics.httpRequests.inc({ method: c.req.method, route, status: c.res.status });
    }),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) => {
    const nats = svc.nats();
    const failure = svc.aggregator.failure;
    const recovering = svc.aggregator.recovering;
    const body = {
      status: failure ? "failed" : recovering ? "recovering" : "ready",
      reason: failure?.message ?? (recovering ? "replicas are catching up with the committed events" : null),
      outlets: svc.aggregator.outlets.size,
      nats,
    };
    return c.json(body, failure || recovering || nats.consumer === "failed" ? 503 : 200);
  });
  app.get("/metrics", async (c) =>
    c.text(await svc.metrics.registry.metrics(), 200, { "content-type": svc.metrics.registry.contentType }),
  );
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Stockroom HQ API",
      version: "1.0.0",
      description: "Every outlet's stock, history, reconciliation and market data, as HQ has applied them.",
    },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  if (existsSync(DASHBOARD_DIST)) {
    const dashboard = serveStatic({ root: DASHBOARD_DIST });
    app.get("/", dashboard);
    app.get("/assets/*", dashboard);
  }

  app.use("/v1/*", async (c, next) => {
    const bearer = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!bearer) {
      throw new ProblemError(
        401,
        "unauthorized",
        "Send Authorization: Bearer <api key>.",
        {},
        { "www-authenticate": "Bearer" },
      );
    }
    const caller = svc.keys.authenticate(bearer);
    if (!caller) {
      throw new ProblemError(
        401,
        "invalid-key",
        "The API key is unknown or revoked.",
        {},
        { "www-authenticate": "Bearer" },
      );
    }
    c.set("caller", caller);
    await next();
  });

  readRoutes(app, svc);
  marketDataRoutes(app, svc);
  streamRoutes(app, svc);

  app.notFound(() => {
    throw new ProblemError(404, "not-found", "No such route.");
  });
  app.onError((error, c) => {
    if (error instanceof ProblemError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      const slug = error.status === 400 ? "malformed-request" : "http-error";
      return problemResponse(c, new ProblemError(error.status as 400, slug, error.message || "Malformed request."));
    }
    svc.logger.error({ err: error, path: c.req.path }, "unhandled error");
    return problemResponse(c, new ProblemError(500, "internal", "Internal error."));
  });
  return app;
}
