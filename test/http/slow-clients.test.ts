/**
 * Slow and silent HTTP clients are cut by the server's deadlines (HTTP_HEADERS_TIMEOUT_MS,
 * HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEPALIVE_TIMEOUT_MS), set short here: headers 300 ms, whole
 * request 600 ms, keep-alive 300 ms. Each hostile client keeps dripping for as long as the
 * test waits (up to 10 s), far past every deadline, so only the server can end it.
 */
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.ts'
import { useServer } from './context.ts'
import { openRaw, type RawConnection } from './raw-http.ts'

const DRIP_EVERY_MS = 50
const WAIT_MS = 10_000

const ctx = useServer({ httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600, httpKeepAliveTimeoutMs: 300 })

function port(): number {
  return (ctx.server.app.server.address() as AddressInfo).port
}

async function cutWith408(connection: RawConnection): Promise<void> {
  try {
    await waitFor(() => connection.isClosed, WAIT_MS, 'the server to close the connection')
  } finally {
    connection.destroy()
  }
  expect(connection.received).toMatch(/^HTTP\/1\.1 408 /)
}

describe('slow clients', () => {
  it('cuts headers sent one byte at a time (408)', async () => {
    const connection = await openRaw(port())
    connection.drip('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ', 'a', DRIP_EVERY_MS)
    await cutWith408(connection)
  })

  it('cuts a connection that never sends a byte (408)', async () => {
    await cutWith408(await openRaw(port()))
  })

  it('cuts a body sent one byte at a time (408)', async () => {
    const connection = await openRaw(port())
    connection.write('POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n')
    connection.drip('', ' ', DRIP_EVERY_MS)
    await cutWith408(connection)
  })

  it('closes a keep-alive connection left idle after its response', async () => {
    const connection = await openRaw(port())
    connection.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n')
    try {
      await waitFor(() => connection.isClosed, WAIT_MS, 'the idle connection to be closed')
    } finally {
      connection.destroy()
    }
    expect(connection.received).toMatch(/^HTTP\/1\.1 200 /)
    expect(connection.received).toMatch(/keep-alive/i)
  })

  it('serves a client that sends its body in pieces within the deadline', async () => {
    const connection = await openRaw(port())
    const body = JSON.stringify({ email: 'nobody@example.test', password: 'not the password' })
    connection.write(`POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`)
    connection.write(body.slice(0, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    connection.write(body.slice(10))
    await waitFor(() => connection.isClosed, WAIT_MS, 'the answer')
    expect(connection.received).toMatch(/^HTTP\/1\.1 401 /)
  })
})
