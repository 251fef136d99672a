/**
 * MAX_CONNECTIONS_PER_ADDRESS (20 here): one address holding its quota of slow connections
 * gets every further connection reset at once, WebSockets included, while another address
 * (127.0.0.2: all of 127.0.0.0/8 is loopback on Linux) is served as usual. The deadlines are
 * long here (headers 10 s, request 20 s) so that no slow connection is cut during a test.
 */
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { groupFixture } from '../helpers/api.ts'
import { rawSocket, type RawSocket } from '../helpers/clients.ts'
import { waitFor } from '../helpers/wait.ts'
import { useServer } from './context.ts'
import { getOnce, openRaw, type RawConnection } from './raw-http.ts'

const CAP = 20
const ctx = useServer({ maxConnectionsPerAddress: CAP, httpHeadersTimeoutMs: 10_000, httpRequestTimeoutMs: 20_000 })
const held: RawConnection[] = []
const sockets: RawSocket[] = []

afterEach(async () => {
  for (const connection of held.splice(0)) connection.destroy()
  for (const socket of sockets.splice(0)) socket.ws.close()
  // The next test starts with this address's slots free again.
  await waitFor(async () => (await getOnce(port(), '/healthz')) === 200, 10_000, 'slots freed')
})

function port(): number {
  return (ctx.server.app.server.address() as AddressInfo).port
}

describe('connections per address', () => {
  it('resets connections past the cap from one address and keeps serving other addresses', async () => {
    const attempts = 2 * (CAP + 10)
    const connections = await Promise.all(Array.from({ length: attempts }, () => openRaw(port())))
    held.push(...connections)
    for (const connection of connections) connection.drip('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 'a', 100)

    await waitFor(() => connections.filter((c) => c.isClosed).length >= attempts - CAP, 10_000, 'the connections past the cap reset')
    expect(connections.filter((c) => !c.isClosed)).toHaveLength(CAP)
    expect(connections.filter((c) => c.isClosed).every((c) => c.received === '')).toBe(true)

    expect(await getOnce(port(), '/healthz', '127.0.0.2')).toBe(200)
    expect(await getOnce(port(), '/healthz', '127.0.0.1')).toBe('ECONNRESET')

    for (const connection of held.splice(0)) connection.destroy()
    await waitFor(async () => (await getOnce(port(), '/healthz', '127.0.0.1')) === 200, 10_000, 'the address served again once its connections closed')
  })

  it('counts WebSocket connections too', async () => {
    const fx = await groupFixture(ctx.api)
    for (let i = 0; i < CAP; i++) sockets.push(rawSocket(`${ctx.server.collabUrl}/${fx.canvas}?token=${fx.token}`))
    await Promise.all(sockets.map((socket) => socket.opened))

    expect(await getOnce(port(), '/healthz', '127.0.0.1')).toBe('ECONNRESET')
    expect(await getOnce(port(), '/healthz', '127.0.0.2')).toBe(200)

    sockets.pop()!.ws.close()
    await waitFor(async () => (await getOnce(port(), '/healthz', '127.0.0.1')) === 200, 10_000, 'a slot freed by the closed socket')
  })
})
