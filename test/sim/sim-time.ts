/**
 * Real time, taken when the simulation's modules load (before any test fakes the clock): a step
 * that takes STUCK_MS of it is stuck, and a real log's I/O is waited for in it (real-logs.ts).
 */
export const realSetTimeout = globalThis.setTimeout
export const realClearTimeout = globalThis.clearTimeout
export const realSetImmediate = globalThis.setImmediate
export const realNow = (): number => performance.now()
const STUCK_MS = 10_000

export async function unstuck<T>(label: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof realSetTimeout> | undefined
  const stuck = new Promise<never>((_, reject) => { timer = realSetTimeout(() => reject(new Error(`stuck: ${label}`)), STUCK_MS) })
  try {
    return await Promise.race([work, stuck])
  } finally {
    realClearTimeout(timer)
  }
}

/** One turn of the real event loop: I/O that has arrived is handled. */
export function realTurn(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve))
}

export function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms))
}
