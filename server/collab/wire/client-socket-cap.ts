/**
 * WebSockets per client behind a trusted proxy. The TCP cap (http/connection-cap.ts) counts
 * peers before a byte is read, so behind a proxy it would count every user as the proxy; it
 * leaves trusted proxies to this cap, which counts upgraded sockets by the client the proxy
 * names (MAX_CONNECTIONS_PER_ADDRESS, IPv6 per /64). A client over it is refused the upgrade.
 */
import { addressKey } from '../../http/connection-cap.ts'

export class ClientSocketCap {
  private readonly open = new Map<string, number>()
  private readonly max: number

  /** `max` 0 counts nothing. */
  constructor(max: number) {
    this.max = max
  }

  /** Counts a socket of `client`; false (nothing counted) when it is at the cap. Call `release` once when it closes. */
  take(client: string): boolean {
    if (this.max === 0) return true
    const key = addressKey(client)
    const count = this.open.get(key) ?? 0
    if (count >= this.max) return false
    this.open.set(key, count + 1)
    return true
  }

  release(client: string): void {
    if (this.max === 0) return
    const key = addressKey(client)
    const left = (this.open.get(key) ?? 1) - 1
    if (left > 0) this.open.set(key, left)
    else this.open.delete(key)
  }

  openFrom(client: string): number {
    return this.open.get(addressKey(client)) ?? 0
  }
}
