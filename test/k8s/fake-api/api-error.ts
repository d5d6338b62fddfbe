/** An API failure answered as a Kubernetes `Status` object, the way the real server does. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      details: this.details,
      code: this.code,
    };
  }
}

export const notFound = (kind: string, name: string) =>
  new ApiError(404, "NotFound", `${kind} "${name}" not found`, { name, kind });

export const alreadyExists = (kind: string, name: string) =>
  new ApiError(409, "AlreadyExists", `${kind} "${name}" already exists`, { name, kind });

export const conflict = (kind: string, name: string) =>
  new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind },
  );

export const invalid = (kind: string, name: string, causes: { field: string; message: string }[]) =>
  new ApiError(
    422,
    "Invalid",
    `${kind} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(", ")}`,
    { name, kind, causes: causes.map((c) => ({ reason: "FieldValueInvalid", ...c })) },
  );

export const badRequest = (message: string) => new ApiError(400, "BadRequest", message);

export const gone = (message: string) => new ApiError(410, "Expired", message);
