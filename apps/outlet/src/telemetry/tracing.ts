import { INVALID_SPAN_CONTEXT, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { NodeSDK } from "@opentelemetry/sdk-node";

export const tracer = trace.getTracer("stockroom-outlet");
/** Set once the SDK runs: until then spans are skipped, not just not recorded (they cost per request). */
let tracing = false;
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Starts the OpenTelemetry SDK when an exporter is configured the standard way
 * (OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT); without one, spans cost next to nothing.
 */
export async function startTelemetry(serviceName: string): Promise<NodeSDK | null> {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT && !process.env.OTEL_TRACES_EXPORTER) return null;
  // Loaded only when used: the SDK takes a noticeable part of a second to import.
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({ serviceName });
  sdk.start();
  tracing = true;
  return sdk;
}

/** Runs `fn` in a span that ends with it and records its failure. */
export async function inSpan<T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!tracing) return fn(NO_SPAN);
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
