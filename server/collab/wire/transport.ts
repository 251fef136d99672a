/** What the protocol needs from a socket; the ws adapter implements it (no `ws` import here). */
export interface Transport {
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
  /** Bytes queued for sending but not yet written to the network. */
  readonly bufferedAmount: number
}
