/** A refusal from the API: `title` is the human sentence of the problem+json answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly problem: Record<string, unknown> = {},
  ) {
    super(title);
  }

  /** The title, plus the first schema error when the API names one. */
  get display(): string {
    const errors = this.problem.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const first = errors[0] as { path?: string; message?: string };
      return `${this.title} ${first.path ? `${first.path}: ` : ""}${first.message ?? ""}`.trim();
    }
    return this.title;
  }
}

/** The message to show for any error: a problem's title, or what went wrong on the way. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.display;
  if (error instanceof TypeError) return "Cannot reach the server. Check the connection and try again.";
  return error instanceof Error ? error.message : String(error);
}

/** A JSON client for one API with one bearer key. Non-2xx answers throw an ApiError. */
export class Api {
  constructor(
    readonly base: string,
    private readonly key: string,
  ) {}

  get headers(): Record<string, string> {
    return { authorization: `Bearer ${this.key}` };
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") params.set(k, String(v));
    const qs = params.toString();
    return this.request<T>("GET", qs ? `${path}?${qs}` : path);
  }

  post<T>(path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    return this.request<T>("POST", path, body, idempotencyKey);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>("DELETE", path);
  }

  async request<T>(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    const headers: Record<string, string> = { ...this.headers, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const problem = (parsed && typeof parsed === "object" ? parsed : {}) as Record<string, unknown>;
      const title = typeof problem.title === "string" ? problem.title : `${res.status} ${res.statusText}`.trim();
      throw new ApiError(res.status, title, problem);
    }
    return parsed as T;
  }
}
