/**
 * REST chat follows the socket rule: a posted message is logged first, then kept, served and
 * acknowledged (and so does every socket write). While the log is down a post answers 503 with Retry-After and nothing of it is
 * served; a retry with the same id after the log is back creates it once; an acknowledged message
 * survives the room leaving memory and the process restarting.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { groupFixture, injectApi, type Api, type GroupFixture } from '../helpers/api.ts'
import { uniqueDbName } from '../helpers/backends.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { roomDoc, sameContent } from '../helpers/docs.ts'
import { startRedis, type RedisServer } from '../helpers/redis-server.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { inject } from 'vitest'

let redis: RedisServer
let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
let api: Api
let fx: GroupFixture
const clients: Client[] = []

beforeAll(async () => {
  redis = await startRedis()
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, redisUrl: redis.url, mongodbUrl: inject('mongoUrl'), mongodbDb: uniqueDbName(), redisTimeoutMs: 500, roomGraceMs: 100 })
  api = injectApi(server.app)
  fx = await groupFixture(api)
}, 60_000)

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await redis.destroy()
  await dir.remove()
})

const post = (id: string, text: string) => api<{ message: { id: string } }>('POST', `/groups/${fx.group.id}/messages`, { token: fx.token, body: { id, text } })
const page = async () => (await api<{ messages: Array<{ id: string; text: string; authorName: string }> }>('GET', `/groups/${fx.group.id}/messages`, { token: fx.token })).body.messages

it('answers 503 with Retry-After while the log is down, serves nothing of it, and creates it once on retry', async () => {
  expect((await post('before-outage-1', 'first')).status).toBe(201)
  const watcher = await connectSynced(server.collabUrl, fx.chat, { token: fx.token })
  clients.push(watcher)

  await redis.stop()
  await waitFor(() => !server.app.updateLog.isUp(), 10_000, 'the log counts as down')
  const refused = await server.app.inject({ method: 'POST', url: `/groups/${fx.group.id}/messages`, headers: { authorization: `Bearer ${fx.token}` }, payload: { id: 'during-outage-1', text: 'lost?' } })
  expect(refused.statusCode).toBe(503)
  expect(refused.headers['retry-after']).toBe('2')
  expect((await page()).map((m) => m.id)).toEqual(['before-outage-1'])
  expect(readAllMessages(watcher.doc).map((m) => m.id)).toEqual(['before-outage-1'])

  await redis.start()
  await waitFor(() => server.app.updateLog.isUp(), 20_000, 'the log is back')
  const retried = await post('during-outage-1', 'lost?')
  expect(retried.status).toBe(201) // created now: the failed attempt left nothing behind
  expect((await post('during-outage-1', 'lost?')).status).toBe(200) // and from now on it is a repeat
  expect((await page()).map((m) => m.id)).toEqual(['before-outage-1', 'during-outage-1'])
  await waitFor(() => readAllMessages(watcher.doc).length === 2)
}, 60_000)

it('a post whose append fails after the log looked up answers 503 and is neither kept nor served', async () => {
  // The log is up when the post starts, and its append fails: a fault that cannot be timed with a
  // real Redis, so this one append is made to fail.
  const log = server.app.updateLog
  const append = log.append.bind(log)
  let failed = 0
  log.append = async (room, updates) => {
    if (failed++ === 0) throw new Error('connection lost mid-append')
    return append(room, updates)
  }
  try {
    const refused = await post('append-fails-1', 'not stored')
    expect(refused.status).toBe(503)
    expect((await page()).some((m) => m.id === 'append-fails-1')).toBe(false)
    expect((await post('append-fails-1', 'not stored')).status).toBe(201)
  } finally {
    log.append = append
  }
  expect((await page()).filter((m) => m.id === 'append-fails-1')).toHaveLength(1)
})

it('keeps acknowledged messages when the room leaves memory and shows the server\'s name for authors', async () => {
  for (const client of clients.splice(0)) client.destroy()
  expect((await post('acked-before-eviction', 'still here')).status).toBe(201)
  await waitFor(() => !server.app.collab.registry.isHot(fx.chat), 10_000, 'the chat room evicted')
  const messages = await page()
  expect(messages.map((m) => m.id)).toContain('acked-before-eviction')
  expect(new Set(messages.map((m) => m.authorName))).toEqual(new Set([fx.owner.name]))
})

it('a failed append drops what was queued behind it, so a stroke that straddles the failure is logged whole', async () => {
  const canvas = fx.canvas
  const drawer = await connectSynced(server.collabUrl, canvas, { token: fx.token })
  const observer = await connectSynced(server.collabUrl, canvas, { token: fx.token })
  clients.push(drawer, observer)
  const log = server.app.updateLog
  const append = log.append.bind(log)
  let releaseFailure!: () => void
  const failureHeld = new Promise<void>((resolve) => { releaseFailure = resolve })
  let calls = 0
  log.append = async (room, updates) => {
    if (room === canvas && calls++ === 0) {
      await failureHeld // the stroke's first batch is in flight…
      throw new Error('connection lost mid-append')
    }
    return append(room, updates)
  }
  const stroke = addStroke(drawer.doc, { author: fx.owner.id, color: '#abcdef', width: 2, tool: 'pen', points: [[0, 0]] })
  await waitFor(() => calls === 1)
  for (let i = 1; i <= 5; i++) appendPoints(stroke, [[i, i]]) // …while its points queue behind it
  await waitFor(() => server.app.collab.registry.get(canvas)!.writesInFlight > 1, 5_000, 'points queued behind the batch')
  releaseFailure()
  log.append = append
  appendPoints(stroke, [[6, 6]]) // a later write is logged; the refused socket is asked to resync
  await waitFor(() => sameContent(observer.doc, drawer.doc), 10_000, 'the observer has the whole stroke')
  appendPoints(stroke, [[7, 7]])
  await waitFor(() => readStrokes(observer.doc)[0]?.points.length === 8, 10_000, 'drawing goes on')
  expect(drawer.closeEvents).toEqual([])
  expect(readStrokes(roomDoc(server.app.collab.registry.get(canvas)!))).toEqual(readStrokes(drawer.doc))
})
