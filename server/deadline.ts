/**
 * `work`, or the error `late()` makes if it has not settled within `ms`. For calls to a dependency
 * that may go silent (no answer, nothing closed), where the client library's own timeout does not
 * end them. A failure after the deadline is nobody's business any more.
 */
export function raceDeadline<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms)
  })
  work.catch(() => undefined)
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
