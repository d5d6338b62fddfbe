import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { Sku } from "@stockroom/contracts";
import { streamSSE } from "hono/streaming";
import { inventory } from "../../queries.ts";
import type { HqEnv, HqServices } from "../context.ts";
import type { StreamMessage } from "../stream-hub.ts";
import { errors, readers } from "./common.ts";

export function streamRoutes(app: OpenAPIHono<HqEnv>, svc: HqServices): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stream",
      summary:
        "Server-Sent Events: outlet (status changes, every subscriber), and for the followed skus trade, depth, candle and stock",
      middleware: [readers],
      request: {
        query: z.object({
          skus: z
            .string()
            .optional()
            .transform((s) => (s ? s.split(",").filter((x) => x.length > 0) : []))
            .pipe(z.array(Sku).max(200)),
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
        for (const s of svc.board.list()) queue.push({ event: "outlet", data: s });
        for (const sku of skus) {
          const [row] = inventory(svc.aggregator, { sku });
          if (row) queue.push({ event: "stock", sku, data: row });
          queue.push({
            event: "depth",
            sku,
            data: { sku, seq: svc.aggregator.mdSeq(`${sku}.depth`), ...svc.aggregator.depth.book(sku, 20) },
          });
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
