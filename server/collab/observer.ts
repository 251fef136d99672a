/**
 * What the collaboration core reports as it works (metrics listen; nothing else depends on it).
 * Calls sit on hot paths, so implementations must be cheap and must not throw.
 */
export interface CollabObserver {
  frameIn(bytes: number): void
  frameRejected(reason: string): void
  /** Client updates that reached the log (and so were accepted). */
  updatesAccepted(count: number, bytes: number): void
  /** One frame sent to `sockets` sockets (a broadcast is encoded once). */
  framesOut(sockets: number, bytes: number): void
  appendFailed(updates: number): void
  /** Another node's entry applied here, `lagMs` after it was appended. */
  remoteApplied(lagMs: number): void
  roomLoaded(ms: number): void
  roomLoadFailed(): void
  roomEvicted(): void
  compacted(bytes: number, ms: number): void
  compactionFailed(): void
  slowConsumerDropped(): void
}

const noop = (): void => {}

export const noObserver: CollabObserver = {
  frameIn: noop,
  frameRejected: noop,
  updatesAccepted: noop,
  framesOut: noop,
  appendFailed: noop,
  remoteApplied: noop,
  roomLoaded: noop,
  roomLoadFailed: noop,
  roomEvicted: noop,
  compacted: noop,
  compactionFailed: noop,
  slowConsumerDropped: noop,
}
