/**
 * A TCP proxy between a server process and a dependency (Redis, MongoDB), for faults a clean
 * stop cannot show:
 * - `blackhole()`: the path stops passing bytes and closes nothing (no FIN, no RST), as a dead
 *   switch or a dropped route does. Bytes in flight are held, not lost (TCP would retransmit
 *   them), and new connections are accepted but go nowhere.
 * - `heal()`: everything held flows again, in order.
 * - `cut()`: every current connection is reset at once (the peer sees an error).
 */
import net from 'node:net'

export interface TcpProxy {
  port: number
  /** `target`'s URL with the proxy's port (e.g. redis://127.0.0.1:<proxy>). */
  url(targetUrl: string): string
  blackhole(): void
  heal(): void
  cut(): void
  /** Connections currently open through the proxy. */
  readonly connections: number
  close(): Promise<void>
}

interface Pair {
  client: net.Socket
  upstream: net.Socket | null
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let silent = false

  const connectUpstream = (pair: Pair): void => {
    const upstream = net.connect(targetPort, targetHost)
    pair.upstream = upstream
    upstream.on('error', () => drop(pair))
    upstream.on('close', () => drop(pair))
    relay(pair.client, upstream)
    relay(upstream, pair.client)
    pair.client.resume()
  }

  const drop = (pair: Pair): void => {
    if (!pairs.delete(pair)) return
    pair.client.destroy()
    pair.upstream?.destroy()
  }

  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const pair: Pair = { client, upstream: null }
    pairs.add(pair)
    client.on('error', () => drop(pair))
    client.on('close', () => drop(pair))
    if (!silent) connectUpstream(pair)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo

  return {
    port,
    url: (targetUrl) => {
      const parsed = new URL(targetUrl)
      parsed.port = String(port)
      return parsed.toString().replace(/\/$/, targetUrl.endsWith('/') ? '/' : '')
    },
    blackhole: () => {
      silent = true
      for (const { client, upstream } of pairs) {
        client.pause()
        upstream?.pause()
      }
    },
    heal: () => {
      silent = false
      for (const pair of pairs) {
        if (pair.upstream === null) connectUpstream(pair)
        pair.client.resume()
        pair.upstream?.resume()
      }
    },
    cut: () => {
      for (const pair of [...pairs]) {
        pair.client.resetAndDestroy()
        pair.upstream?.resetAndDestroy()
        drop(pair)
      }
    },
    get connections() {
      return pairs.size
    },
    close: () => new Promise((resolve) => {
      for (const pair of [...pairs]) drop(pair)
      server.close(() => resolve())
    }),
  }

  /** Copies `from` to `to`; while the path is silent nothing is read, so nothing is passed. */
  function relay(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause()
      if (silent) from.pause()
    })
    to.on('drain', () => {
      if (!silent) from.resume()
    })
  }
}
