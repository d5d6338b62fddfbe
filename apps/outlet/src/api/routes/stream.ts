import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Sku } from "@stockroom/contracts";
import { streamSSE } from "hono/streaming";
import type { GatewayEnv, OutletServices } from "../context.ts";
import type { StreamMessage } from "../stream-hub.ts";
import { errors, requires } from "./common.ts";

export function streamRoutes(app: OpenAPIHono<GatewayEnv>, svc: OutletServices): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stream",
      summary: "Server-Sent Events for the followed skus: fill, stock and depth",
      middleware: [requires("read")],
      request: {
        query: z.object({
          skus: z
            .string()
            .transform((s) => s.split(","))
            .pipe(z.array(Sku).min(1).max(200)),
        }),
      },
      responses: { 200: { description: "text/event-stream" }, ...errors },
    }),
    (c) => {
      const { skus } = c.req.valid("query");
      return streamSSE(c, async (stream) => {
        const queue: StreamMessage[] = [];
        let wake: (() => void) | null = null;
        const unsubscribe = svc.stream.subscribe(skus, (m) => {
          queue.push(m);
          wake?.();
        });
        stream.onAbort(() => {
          unsubscribe();
          wake?.();
        });
        // Start with the current picture so the page needs no second request.
        for (const sku of skus) {
          const stock = svc.engine.stock(sku);
          if (stock) queue.push({ event: "stock", sku, data: stock });
          const depth = svc.engine.depth(sku, 20);
          if (depth) queue.push({ event: "depth", sku, data: depth });
        }
        while (!stream.aborted) {
          while (queue.length > 0) {
            const m = queue.shift()!;
            await stream.writeSSE({ event: m.event, data: JSON.stringify(m.data) });
          }
          await Promise.race([
            new Promise<void>((resolve) => {
              wake = resolve;
            }),
            stream.sleep(15_000).then(() => stream.writeSSE({ event: "ping", data: "{}" })),
          ]);
          wake = null;
        }
        unsubscribe();
      });
    },
  );
}
