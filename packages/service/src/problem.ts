import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable problem types: `https://stockroom.dev/problems/<slug>`, the same in every service. */
export const PROBLEM_BASE = "https://stockroom.dev/problems/";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extra: string]: unknown;
}

/** An error that becomes an `application/problem+json` answer. */
export class ProblemError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly slug: string,
    readonly title: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(title);
  }

  toProblem(): Problem {
    return { type: PROBLEM_BASE + this.slug, title: this.title, status: this.status, ...this.extra };
  }
}

export function problemResponse(c: Context, error: ProblemError): Response {
  return c.body(JSON.stringify(error.toProblem()), error.status, {
    "content-type": "application/problem+json",
    ...error.headers,
  });
}
