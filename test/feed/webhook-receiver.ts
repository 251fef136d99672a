/**
 * A real HTTP receiver for webhook tests: records every request and answers as scripted
 * (a status, or 'hang' to never answer). Plus an independent Standard Webhooks verifier.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { expect } from 'vitest'

export interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** A status; 'hang' (never answer); or a full answer, sent after `delayMs` when given. */
export type Answer = number | 'hang' | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }

export interface Receiver {
  url: string
  port: number
  received: Received[]
  /** Answers for the next requests, in order; once used up, `fallback`. */
  script: Answer[]
  fallback: Answer
  close(): Promise<void>
}

export async function startReceiver(fallback: Answer = 200): Promise<Receiver> {
  const hanging = new Set<http.ServerResponse>()
  const receiver = { received: [] as Received[], script: [] as Answer[], fallback } as Receiver
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      receiver.received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') })
      const answer = receiver.script.shift() ?? receiver.fallback
      if (answer === 'hang') {
        hanging.add(response)
        return
      }
      const { status, body, headers, delayMs } = typeof answer === 'number' ? { status: answer, body: '', headers: {}, delayMs: 0 } : answer
      if (!delayMs) response.writeHead(status, headers).end(body)
      else {
        hanging.add(response) // closed with the receiver if still waiting
        setTimeout(() => {
          hanging.delete(response)
          if (!response.destroyed) response.writeHead(status, headers).end(body)
        }, delayMs)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}`
  receiver.close = async () => {
    for (const response of hanging) response.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return receiver
}

/** Verifies a delivery the way a receiver would, from the spec alone (not the server's code). */
export function verifySignature(secret: string, request: Received): boolean {
  expect(secret.startsWith('whsec_')).toBe(true)
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64')
  const id = String(request.headers['webhook-id'])
  const timestamp = String(request.headers['webhook-timestamp'])
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest()
  return String(request.headers['webhook-signature']).split(' ').some((part) => {
    const [version, signature] = part.split(',')
    if (version !== 'v1' || signature === undefined) return false
    const given = Buffer.from(signature, 'base64')
    return given.length === expected.length && timingSafeEqual(given, expected)
  })
}
