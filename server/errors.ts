/**
 * Errors with an HTTP meaning, raised by domain code and rendered by the HTTP layer as
 * `{ error, message }` with `status`.
 */
export class AppError extends Error {
  override name = 'AppError'
  readonly status: number
  readonly code: string

  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const badRequest = (message: string): AppError => new AppError(400, 'bad_request', message)
export const unauthorized = (message = 'authentication required'): AppError => new AppError(401, 'unauthorized', message)
export const forbidden = (message: string): AppError => new AppError(403, 'forbidden', message)
export const notFound = (message: string): AppError => new AppError(404, 'not_found', message)
export const conflict = (message: string): AppError => new AppError(409, 'conflict', message)
export const gone = (message: string): AppError => new AppError(410, 'gone', message)
export const unavailable = (message: string): AppError => new AppError(503, 'unavailable', message)
