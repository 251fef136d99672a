/**
 * A deadline for a storage call. The MongoDB driver does not end an operation already written to
 * a connection that went silent (no FIN, no answer) until its socket times out or the server
 * monitor gives up, seconds later; calls on a request's path that must answer within
 * MONGODB_TIMEOUT_MS race this deadline instead.
 */
import { raceDeadline } from '../deadline.ts'

export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError'
}

export function withStorageDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return raceDeadline(work, ms, () => new StorageTimeoutError(`${what} took longer than ${ms} ms`))
}
