/** An error that carries the HTTP status and a message safe to show to the user. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: { retryAt?: Date } = {},
  ) {
    super(message);
  }
}

export class NotFoundError extends HttpError {
  constructor(message = "That page does not exist.") {
    super(404, message);
  }
}

export class ForbiddenError extends HttpError {
  constructor(message = "You do not have access to this page.") {
    super(403, message);
  }
}
