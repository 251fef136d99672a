/**
 * Errors with an HTTP meaning, raised by domain code and rendered by the HTTP layer as
 * `{ error, message }` with `status` (the class is shared with web clients).
 */
import { HttpError } from '../shared/http-error.ts'

export { HttpError as AppError }

export const badRequest = (message: string): HttpError => new HttpError(400, 'bad_request', message)
export const unauthorized = (message = 'authentication required'): HttpError => new HttpError(401, 'unauthorized', message)
export const forbidden = (message: string): HttpError => new HttpError(403, 'forbidden', message)
export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message)
export const conflict = (message: string): HttpError => new HttpError(409, 'conflict', message)
export const gone = (message: string): HttpError => new HttpError(410, 'gone', message)
export const unavailable = (message: string, retryAfterSeconds?: number): HttpError => new HttpError(503, 'unavailable', message, retryAfterSeconds)
export const payloadTooLarge = (message: string): HttpError => new HttpError(413, 'payload_too_large', message)
export const rateLimited = (message: string, retryAfterSeconds: number): HttpError => new HttpError(429, 'rate_limited', message, retryAfterSeconds)
