/** /metrics exposes what an operator watches, fed by real traffic. */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { groupFixture, injectApi } from '../helpers/api.ts'
import { connectSynced, rawSocket, type Client } from '../helpers/clients.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
const clients: Client[] = []

beforeAll(async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, metricsToken: 'scrape-token-123', compactEveryUpdates: 10 })
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await dir.remove()
})

async function scrape(): Promise<string> {
  const response = await server.app.inject({ url: '/metrics', headers: { authorization: 'Bearer scrape-token-123' } })
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/text\/plain/)
  return response.body
}

function value(text: string, metric: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${metric} `) || l.startsWith(`${metric}{`) && !l.includes('quantile'))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
}

it('requires the metrics token when one is configured', async () => {
  expect((await server.app.inject({ url: '/metrics' })).statusCode).toBe(401)
  expect((await server.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401)
})

it('counts connections, rooms, updates in and out, compactions and rejected frames', async () => {
  const fx = await groupFixture(injectApi(server.app))
  const a = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  const b = await connectSynced(server.collabUrl, fx.canvas, { token: fx.token })
  clients.push(a, b)
  for (let i = 0; i < 30; i++) addStroke(a.doc, { author: fx.owner.id, color: '#000000', width: 1, tool: 'pen', points: [[i, i]] })
  const bad = rawSocket(`${server.collabUrl}/${fx.canvas}?token=${fx.token}`)
  await bad.opened
  bad.send(new Uint8Array([0x7f]))
  await bad.closed

  await waitFor(() => readStrokes(b.doc).length === 30)
  expect((await server.app.inject({ url: `/groups/${fx.group.id}/canvas.svg`, headers: { authorization: `Bearer ${fx.token}` } })).statusCode).toBe(200) // a view: the doc worker
  await waitFor(async () => value(await scrape(), 'collab_compaction_seconds_count') > 0, 10_000, 'a compaction')
  await waitFor(async () => value(await scrape(), 'collab_connections') === 2, 5_000, 'the refused socket gone')
  const text = await scrape()
  expect(value(text, 'collab_rooms_loaded')).toBe(1)
  expect(value(text, 'collab_updates_in_total')).toBeGreaterThanOrEqual(30)
  // Consecutive updates from one socket are applied as one transaction: fewer, larger frames.
  expect(value(text, 'collab_frames_out_total')).toBeGreaterThanOrEqual(1)
  expect(value(text, 'collab_bytes_out_total')).toBeGreaterThan(0)
  expect(text).toContain('collab_rejected_frames_total{reason="invalidData"} 1')
  expect(text).toMatch(/collab_unsnapshotted_age_seconds\{quantile="1"\} \d/)
  expect(value(text, 'collab_log_up')).toBe(1)
  expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/groups",status="201"\} 1/)
  expect(text).toContain('nodejs_eventloop_lag_seconds')
  // Memory by thread: the main thread, and the workers the picture and a compaction started.
  for (const thread of ['main', 'doc-worker', 'fold-worker']) {
    expect(Number(new RegExp(`process_thread_heap_used_bytes\\{thread="${thread}"\\} (\\d+)`).exec(text)?.[1])).toBeGreaterThan(100_000)
  }
})
