/** An error with an HTTP meaning: `{ error: code, message }` with `status`. Server and clients use it alike. */
export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: number
  readonly code: string
  /** When retrying makes sense (503, 429): seconds to wait, sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined

  constructor(status: number, code: string, message: string, retryAfterSeconds?: number) {
    super(message)
    this.status = status
    this.code = code
    this.retryAfterSeconds = retryAfterSeconds
  }
}
