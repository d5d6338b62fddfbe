import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serveStatic } from "@hono/node-server/serve-static";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { routePath } from "hono/route";
import { inSpan } from "../telemetry/tracing.ts";
import { WriterStoppedError } from "../writer/writer.ts";
import type { GatewayEnv, OutletServices } from "./context.ts";
import { ProblemError, problemResponse } from "./problem.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { auditRoutes } from "./routes/audit.ts";
import { batchRoutes } from "./routes/batch.ts";
import { catalogRoutes } from "./routes/catalog.ts";
import { holdRoutes } from "./routes/holds.ts";
import { marketDataRoutes } from "./routes/marketdata.ts";
import { orderRoutes } from "./routes/orders.ts";
import { streamRoutes } from "./routes/stream.ts";
import { withFastValidation } from "./validation.ts";

/** The kiosk page's built assets (`npm run build -w @stockroom/kiosk-web`), served at `/` when present. */
export const KIOSK_DIST = fileURLToPath(new URL("../../../kiosk-web/dist", import.meta.url));

const BEARER = /^Bearer\s+(\S+)$/i;

/** The outlet's HTTP API: gateway (auth, rate limit, body limit, problems) and every route. */
export function createApp(svc: OutletServices): OpenAPIHono<GatewayEnv> {
  const app = withFastValidation(new OpenAPIHono<GatewayEnv>(), (result) => {
    if (!result.success) {
      throw new ProblemError(400, "validation-error", "The request does not match the schema.", {
        errors: result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
      });
    }
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
    const failure = svc.writer.failure;
    return failure
      ? c.json({ status: "failed", reason: failure.message }, 503)
      : c.json({
          status: "ready",
          outletId: svc.outletId,
          seq: svc.writer.lastSeq,
          replication: svc.replicator?.status() ?? null,
        });
  });
  app.get("/metrics", async (c) =>
    c.text(await svc.metrics.registry.metrics(), 200, { "content-type": svc.metrics.registry.contentType }),
  );
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Stockroom outlet API", version: "1.0.0", description: "One store's inventory engine." },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

  if (existsSync(KIOSK_DIST)) {
    const kiosk = serveStatic({ root: KIOSK_DIST });
    app.get("/", kiosk);
    app.get("/assets/*", kiosk);
  }

  const tooLarge = () => {
    throw new ProblemError(413, "body-too-large", `Request bodies are limited to ${svc.bodyLimitBytes} bytes.`);
  };
  const streamedBodyLimit = bodyLimit({ maxSize: svc.bodyLimitBytes, onError: tooLarge });
  const unauthorized = (slug: string, detail: string) =>
    new ProblemError(401, slug, detail, {}, { "www-authenticate": "Bearer" });
  /** Authentication and rate limit: the caller's account and role for the routes. */
  const authenticate = (c: Context<GatewayEnv>, next: Next) => {
    const bearer = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
    if (!bearer) throw unauthorized("unauthorized", "Send Authorization: Bearer <api key>.");
    const accountId = svc.credentials.authenticate(bearer);
    const account = accountId ? svc.engine.account(accountId) : null;
    if (!account) throw unauthorized("invalid-key", "The API key is unknown or revoked.");
    const wait = svc.rateLimiter.take(account.accountId);
    if (wait > 0) {
      throw new ProblemError(
        429,
        "rate-limited",
        "Too many requests for this account; retry later.",
        {},
        { "retry-after": String(wait) },
      );
    }
    c.set("accountId", account.accountId);
    c.set("role", account.role);
    c.set("apiKey", bearer);
    return next();
  };
  // One gateway middleware (body limit, then authentication) rather than two: each layer costs.
  app.use("/v1/*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      // Reads show only durable state: they wait until no committed group awaits its fsync.
      await svc.writer.settled();
      return authenticate(c, next);
    }
    // Hono's bodyLimit builds the full web Request (body stream, AbortSignal) to look at the
    // body, a large part of a request's cost: only needed when no Content-Length gives the size.
    const length = c.req.header("content-length");
    if (length === undefined || c.req.header("transfer-encoding") !== undefined) {
      return streamedBodyLimit(c, () => authenticate(c, next));
    }
    if (Number(length) > svc.bodyLimitBytes) tooLarge();
    return authenticate(c, next);
  });

  orderRoutes(app, svc);
  holdRoutes(app, svc);
  catalogRoutes(app, svc);
  marketDataRoutes(app, svc);
  accountRoutes(app, svc);
  auditRoutes(app, svc);
  batchRoutes(app, svc);
  streamRoutes(app, svc);

  app.notFound(() => {
    throw new ProblemError(404, "not-found", "No such route.");
  });
  app.onError((error, c) => {
    if (error instanceof ProblemError) return problemResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals, e.g. a body that is not JSON.
      const slug =
        error.status === 400 ? "malformed-request" : error.status === 415 ? "unsupported-media-type" : "http-error";
      return problemResponse(c, new ProblemError(error.status as 400, slug, error.message || "Malformed request."));
    }
    if (error instanceof WriterStoppedError) {
      return problemResponse(
        c,
        new ProblemError(503, "unavailable", "The outlet cannot commit right now; it must restart."),
      );
    }
    svc.logger.error({ err: error, path: c.req.path }, "unhandled error");
    return problemResponse(c, new ProblemError(500, "internal", "Internal error."));
  });
  return app;
}
