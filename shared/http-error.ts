/** An error with an HTTP meaning: `{ error: code, message }` with `status`. Server and clients use it alike. */
export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}
