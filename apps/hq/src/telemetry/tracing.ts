import { context, propagation, ROOT_CONTEXT, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { NodeSDK } from "@opentelemetry/sdk-node";

export const tracer = trace.getTracer("stockroom-hq");

/**
 * Starts the OpenTelemetry SDK when an exporter is configured the standard way
 * (OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT); without one, spans cost next to nothing.
 */
export async function startTelemetry(serviceName: string): Promise<NodeSDK | null> {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT && !process.env.OTEL_TRACES_EXPORTER) return null;
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({ serviceName });
  sdk.start();
  return sdk;
}

/** A span that continues the trace of a NATS message (its W3C `traceparent` header), or a new root. */
export function startMessageSpan(
  name: string,
  traceparent: string | undefined,
  attributes: Record<string, string | number>,
): Span {
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return tracer.startSpan(name, { attributes }, parent);
}

/** Runs `fn` in a span that ends with it and records its failure. */
export async function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { context };
