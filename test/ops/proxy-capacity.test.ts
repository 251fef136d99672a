/**
 * Capacity behind the proxy: deploy/nginx.conf as shipped in front of two real nodes
 * (TRUST_PROXY=1). Thousands of WebSockets pass, and one client address cannot take the others'
 * places: nginx caps it over all nodes (`limit_conn`), and each node caps its WebSockets by the
 * address nginx forwards (MAX_CONNECTIONS_PER_ADDRESS), not by nginx's own address. Clients are
 * told apart by the loopback source address they connect from (127.0.x.y).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { fetchApi, groupFixture, type GroupFixture } from '../helpers/api.ts'
import { runNginx, type RunningNginx } from '../helpers/nginx.ts'

interface Opened {
  /** Admitted: the node answered (its sync step 1 arrived). */
  admitted: WebSocket[]
  /** HTTP statuses of refused upgrades. */
  refused: number[]
}

/** Opens `count` WebSockets from `localAddress`, `parallel` at a time; each ends admitted or refused. */
async function openSockets(nginx: RunningNginx, fx: GroupFixture, localAddress: string, count: number, parallel = 100): Promise<Opened> {
  const result: Opened = { admitted: [], refused: [] }
  const url = `${nginx.collabUrl}/${fx.canvas}?token=${encodeURIComponent(fx.token)}`
  const openOne = (): Promise<void> => new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress })
    ws.once('message', () => {
      result.admitted.push(ws)
      resolve()
    })
    ws.once('unexpected-response', (_request, response) => {
      result.refused.push(response.statusCode ?? 0)
      ws.terminate()
      resolve()
    })
    ws.once('close', (code) => reject(new Error(`socket from ${localAddress} closed with ${code} before it was admitted or refused`)))
    ws.once('error', (error) => { if (error.message.includes('Unexpected server response')) return; reject(error) })
  })
  for (let done = 0; done < count; done += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - done) }, openOne))
  }
  return result
}

function closeAll(...opened: Opened[]): void {
  for (const { admitted } of opened) for (const ws of admitted) ws.terminate()
}

describe('capacity behind the shipped nginx', () => {
  let nginx: RunningNginx
  let fx: GroupFixture

  beforeAll(async () => {
    nginx = await runNginx()
    fx = await groupFixture(fetchApi(nginx.url), 'Crowd')
  }, 60_000)
  afterAll(async () => {
    await nginx?.close()
  })

  it('carries 5,000 WebSockets from 20 clients, and one client cannot take the others\' places', async () => {
    const crowd: Opened[] = []
    for (let i = 0; i < 20; i++) crowd.push(await openSockets(nginx, fx, `127.0.1.${i + 1}`, 250))
    try {
      expect(crowd.map((c) => c.admitted.length)).toEqual(Array(20).fill(250))

      const hog = await openSockets(nginx, fx, '127.0.0.2', 400)
      const late = await openSockets(nginx, fx, '127.0.0.3', 5)
      try {
        expect(hog.admitted.length, 'nginx lets one client hold 256 connections over all nodes').toBe(256)
        expect(hog.refused).toEqual(Array(400 - 256).fill(429))
        expect(late.admitted).toHaveLength(5)
        expect(crowd.every((c) => c.admitted.every((ws) => ws.readyState === WebSocket.OPEN))).toBe(true)
      } finally {
        closeAll(hog, late)
      }
    } finally {
      closeAll(...crowd)
    }
  }, 180_000)
})

describe('the nodes count WebSockets by the address nginx forwards', () => {
  let nginx: RunningNginx
  let fx: GroupFixture
  const perNode = 40

  beforeAll(async () => {
    nginx = await runNginx({ MAX_CONNECTIONS_PER_ADDRESS: String(perNode) })
    fx = await groupFixture(fetchApi(nginx.url), 'Capped')
  }, 60_000)
  afterAll(async () => {
    await nginx?.close()
  })

  it('refuses a client over the cap on each node with 429, while other clients of the same proxy get in', async () => {
    const hog = await openSockets(nginx, fx, '127.0.0.4', 200, 20)
    const others = await Promise.all([5, 6, 7].map((n) => openSockets(nginx, fx, `127.0.0.${n}`, 30, 10)))
    try {
      // Round robin spreads the hog over both nodes; each node lets it hold `perNode` at most.
      expect(hog.admitted.length).toBeLessThanOrEqual(2 * perNode)
      expect(hog.admitted.length).toBeGreaterThanOrEqual(perNode)
      expect(hog.refused.length).toBe(200 - hog.admitted.length)
      expect(new Set(hog.refused)).toEqual(new Set([429]))
      // nginx's own address is every client's peer: were it counted, these would be refused too.
      expect(others.map((o) => o.admitted.length)).toEqual([30, 30, 30])
    } finally {
      closeAll(hog, ...others)
    }
  }, 120_000)
})
