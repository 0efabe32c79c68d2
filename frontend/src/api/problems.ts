/** RFC 9457 problem+json as Haven sends it (API.md, "Conventions"). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { loc: (string | number)[]; msg: string }[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  /** For a 412: the resource as it is now (the API sends it in the body). */
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const problem = isProblem(body) ? body : {};
    super(problem.detail ?? problem.title ?? `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.body = body;
  }
}

function isProblem(body: unknown): body is Problem {
  return typeof body === "object" && body !== null && ("detail" in body || "title" in body);
}

/** Messages per field: the last name in each error's `loc` (["body", "title"] -> "title"). */
export function fieldErrors(problem: Problem | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const error of problem?.errors ?? []) {
    const field = [...error.loc].reverse().find((part) => typeof part === "string");
    if (field && field !== "body" && !(field in out)) out[field] = error.msg;
  }
  return out;
}

/** The best sentence to show a person for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return "You appear to be offline. Your changes were not sent.";
    return error.problem.detail ?? error.problem.title ?? error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
