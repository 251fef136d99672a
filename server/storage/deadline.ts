/**
 * A deadline for a storage call. The MongoDB driver's own timeout does not end an operation
 * already written to a connection that went silent (no FIN, no answer): it fails only when the
 * server monitor gives up on the connection, seconds later. Calls on a request's path that must
 * answer within MONGODB_TIMEOUT_MS race this deadline instead.
 */
export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError'
}

export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(`${what} took longer than ${ms} ms`)), ms)
    timer.unref()
  })
  work.catch(() => undefined) // a late failure has no one to answer
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}
