/** Shared bits of route definitions. */
import { ErrorBody } from '../../../shared/api.ts'

/** Response schemas for the error statuses a route can return (for validation docs and OpenAPI). */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([400, ...statuses].map((status) => [status, ErrorBody]))
}

export const bearer = [{ bearerAuth: [] }]
