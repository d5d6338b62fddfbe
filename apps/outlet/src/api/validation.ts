import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context, Env, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";

/** What a route's validation hook gets: zod's result, the value checked and where it came from. */
type HookResult = { target: "query" | "param" | "json"; data: unknown } & (
  | { success: true; data: unknown }
  | { success: false; error: z.ZodError }
);
export type ValidationHook = (result: HookResult, c: Context) => unknown;

// The same tests @hono/zod-openapi and hono/validator apply, so answers stay the same.
const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Makes `app.openapi` check a route's params, query and JSON body in one middleware with zod's
 * synchronous parse, instead of @hono/zod-openapi's chain (a media type gate, then one validator
 * per part, each `safeParseAsync`). Same order, same refusals, same hook; the synchronous parse
 * lets zod use its compiled fast path, which `safeParseAsync` never does. Routes declaring
 * anything else (headers, cookies, forms, an optional body, a hook of their own) keep the
 * library's validators.
 */
export function withFastValidation<E extends Env>(app: OpenAPIHono<E>, hook: ValidationHook): OpenAPIHono<E> {
  const library = app.openapi;
  const fast = (
    { middleware, hide, ...route }: RouteConfig,
    handler: MiddlewareHandler<E>,
    routeHook?: unknown,
  ): OpenAPIHono<E> => {
    const request = route.request;
    const content = request?.body?.content;
    const mediaTypes = content ? Object.keys(content) : [];
    const media = content?.["application/json"];
    const body = media && "schema" in media ? media.schema : undefined;
    if (
      routeHook !== undefined ||
      request?.headers !== undefined ||
      request?.cookies !== undefined ||
      (content !== undefined &&
        (mediaTypes.length !== 1 || !(body instanceof z.ZodType) || request?.body?.required !== true)) ||
      (request?.query !== undefined && !(request.query instanceof z.ZodType)) ||
      (request?.params !== undefined && !(request.params instanceof z.ZodType))
    ) {
      return (library as (...args: unknown[]) => OpenAPIHono<E>)({ middleware, hide, ...route }, handler, routeHook);
    }
    if (!hide) app.openAPIRegistry.registerPath(route);
    const query = request?.query as z.ZodType | undefined;
    const params = request?.params as z.ZodType | undefined;
    const json = body as z.ZodType | undefined;
    const validate: MiddlewareHandler<E> = async (c, next) => {
      if (query) {
        const value = Object.fromEntries(
          Object.entries(c.req.queries()).map(([k, v]) => (v.length === 1 ? [k, v[0]] : [k, v])),
        );
        const checked = check(c, query, "query", value, hook);
        const answer = checked instanceof Promise ? await checked : checked;
        if (answer) return answer;
      }
      if (params) {
        const checked = check(c, params, "param", c.req.param(), hook);
        const answer = checked instanceof Promise ? await checked : checked;
        if (answer) return answer;
      }
      if (json) {
        const contentType = c.req.header("content-type");
        if (contentType ? !JSON_REQUEST.test(contentType) : await hasRequestBody(c)) {
          throw new HTTPException(415, { message: "Unsupported Media Type" });
        }
        let value: unknown = {};
        if (contentType && JSON_MEDIA_TYPE.test(contentType.split(";")[0]!.trim())) {
          try {
            // Read as text once: the idempotency hash reads the same cached text.
            value = JSON.parse(await c.req.text());
          } catch {
            throw new HTTPException(400, { message: "Malformed JSON in request body" });
          }
        }
        const checked = check(c, json, "json", value, hook);
        const answer = checked instanceof Promise ? await checked : checked;
        if (answer) return answer;
      }
      await next();
    };
    const before = middleware ? (Array.isArray(middleware) ? middleware : [middleware]) : [];
    const path = route.path.replaceAll(/\/{(.+?)}/g, "/:$1");
    app.on([route.method], [path], ...(before as MiddlewareHandler<E>[]), validate, handler);
    return app;
  };
  app.openapi = fast as unknown as typeof app.openapi;
  return app;
}

type Checked = Response | undefined;

/**
 * Validates `value` and records the data for `c.req.valid(target)`; a Response when the hook (or
 * a failure) answers. Synchronous unless the schema or the hook is not: no promise per part.
 */
function check(
  c: Context,
  schema: z.ZodType,
  target: "query" | "param" | "json",
  value: unknown,
  hook: ValidationHook,
): Checked | Promise<Checked> {
  let result: z.ZodSafeParseResult<unknown>;
  try {
    result = schema.safeParse(value);
  } catch (error) {
    // A schema with async refinements: parse it the way the library does.
    if (!(error instanceof z.core.$ZodAsyncError)) throw error;
    return schema.safeParseAsync(value).then((r) => conclude(c, target, value, r, hook));
  }
  return conclude(c, target, value, result, hook);
}

function conclude(
  c: Context,
  target: "query" | "param" | "json",
  value: unknown,
  result: z.ZodSafeParseResult<unknown>,
  hook: ValidationHook,
): Checked | Promise<Checked> {
  const answer = hook({ data: value, ...result, target } as HookResult, c);
  return answer instanceof Promise
    ? answer.then((a) => record(c, target, result, a))
    : record(c, target, result, answer);
}

function record(
  c: Context,
  target: "query" | "param" | "json",
  result: z.ZodSafeParseResult<unknown>,
  hookAnswer: unknown,
): Checked {
  const answer = hookAnswer as Response | { response: Response } | undefined;
  if (answer) {
    if (answer instanceof Response) return answer;
    if ("response" in answer) return answer.response;
  }
  if (!result.success) return c.json(result, 400);
  c.req.addValidatedData(target, result.data as object);
  return undefined;
}

/** Whether a request without Content-Type still has a body (as @hono/zod-openapi decides it). */
async function hasRequestBody(c: Context): Promise<boolean> {
  const raw = c.req.raw;
  if (raw.body === null) return false;
  if (raw.bodyUsed) return (await c.req.arrayBuffer()).byteLength > 0;
  const body = raw.clone().body;
  if (body === null) return false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return false;
      if (value.byteLength > 0) return true;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
