import type { ApiErrorBody } from "./wire.js";

/** The app API answered with an error the client does not retry (bad secret, bad request, …). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, body: ApiErrorBody["error"]) {
    super(`${body.message}${body.node ? ` (node ${body.node})` : ""}`);
    this.name = "ApiError";
    this.code = body.code;
    this.status = status;
  }
}
