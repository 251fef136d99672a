/**
 * One delivery attempt: a POST of the event's JSON with its signature, over a connection whose
 * address passed the SSRF check (address-guard.ts). Redirects are not followed (a 3xx is a failed
 * attempt: a redirect could point anywhere); the whole attempt is bounded by WEBHOOK_TIMEOUT_MS,
 * and at most MAX_RESPONSE_BYTES of the answer are read.
 */
import http from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { guardedLookup, hostOf, isBlockedAddress, TargetRefused } from './address-guard.ts'

/** Receivers answer 2xx with little or nothing; more than this is not read. */
const MAX_RESPONSE_BYTES = 16 * 1024
const USER_AGENT = 'canvas-collab-server-webhooks/1'

export interface AttemptResult {
  status: number | null
  error: string | null
  ms: number
}

export interface SendOptions {
  timeoutMs: number
  allowedHosts: readonly string[]
  /** Aborting ends the attempt at once (shutdown); the caller records nothing for it. */
  signal?: AbortSignal
}

export async function send(url: string, headers: Record<string, string>, body: string, options: SendOptions): Promise<AttemptResult> {
  const started = performance.now()
  const done = (status: number | null, error: string | null): AttemptResult => ({ status, error, ms: Math.round(performance.now() - started) })
  try {
    const status = await post(new URL(url), headers, body, options)
    return done(status, status >= 200 && status < 300 ? null : `answered ${status}`)
  } catch (error) {
    return done(null, describe(error))
  }
}

function post(url: URL, headers: Record<string, string>, body: string, options: SendOptions): Promise<number> {
  const host = hostOf(url)
  // A literal address needs no lookup, so the guarded lookup would not see it: checked here.
  if (isIP(host) !== 0 && !options.allowedHosts.includes(host) && isBlockedAddress(host)) {
    return Promise.reject(new TargetRefused(`${host} is an address webhooks may not reach`))
  }
  const client = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    let response: http.IncomingMessage | undefined
    const finish = (outcome: () => void): void => {
      clearTimeout(deadline)
      outcome()
    }
    const request = client.request(url, {
      method: 'POST',
      ...(options.signal && { signal: options.signal }),
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': USER_AGENT },
      lookup: guardedLookup(options.allowedHosts),
      agent: false,
    }, (answer) => {
      response = answer
      const status = answer.statusCode ?? 0
      let read = 0
      answer.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (read > MAX_RESPONSE_BYTES) answer.destroy() // the status is all that counts
      })
      answer.on('close', () => finish(() => resolve(status)))
      answer.on('error', () => undefined) // a cut answer still has its status
    })
    // The whole attempt, answer included: a receiver dripping its answer cannot hold a slot.
    const deadline = setTimeout(() => {
      const timedOut = new Error(`no answer within ${options.timeoutMs} ms`)
      response?.destroy()
      request.destroy(timedOut)
      finish(() => reject(timedOut))
    }, options.timeoutMs)
    request.on('error', (error) => finish(() => reject(error)))
    request.end(body)
  })
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.slice(0, 200)
}
