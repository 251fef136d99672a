/**
 * A TCP load balancer for multi-node tests: each new connection goes to the next live backend
 * (round robin), bytes are piped both ways, WebSocket upgrades included. Backends can be marked
 * dead, as a health-checking balancer would after a node stops answering.
 */
import net from 'node:net'

export interface Balancer {
  port: number
  url: string
  collabUrl: string
  setBackends(ports: number[]): void
  close(): Promise<void>
}

export async function startBalancer(backends: number[]): Promise<Balancer> {
  let live = [...backends]
  let next = 0
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const port = live[next++ % Math.max(live.length, 1)]
    if (port === undefined) return client.destroy()
    const upstream = net.connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    collabUrl: `ws://127.0.0.1:${port}/collab`,
    setBackends: (ports) => { live = [...ports] },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }),
  }
}
