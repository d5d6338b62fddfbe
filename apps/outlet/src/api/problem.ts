import type { RejectReason } from "@stockroom/contracts";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Stable problem types: `https://stockroom.dev/problems/<slug>`. */
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

/** The HTTP status of each engine rejection. */
const REJECT_STATUS: Record<RejectReason, ContentfulStatusCode> = {
  unknown_sku: 404,
  sku_exists: 409,
  sku_delisted: 409,
  unknown_account: 404,
  account_exists: 409,
  account_not_verified: 403,
  account_suspended: 403,
  insufficient_funds: 422,
  amount_too_large: 422,
  insufficient_stock: 409,
  daily_limit_exceeded: 422,
  market_closed: 409,
  unknown_order: 404,
  not_order_owner: 403,
  order_held: 409,
  invalid_quantity: 422,
  unknown_hold: 404,
  hold_exists: 409,
  hold_not_active: 409,
  not_hold_owner: 403,
};

export function rejectionProblem(reason: RejectReason, message: string, seq: number): ProblemError {
  return new ProblemError(REJECT_STATUS[reason], reason.replaceAll("_", "-"), message, { reason, seq });
}
