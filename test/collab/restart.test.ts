import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addStroke, appendPoints, readStrokes } from '../../shared/canvas.ts'
import { postMessage, readAllMessages } from '../../shared/chat.ts'
import { connectSynced, type Client } from '../helpers/clients.ts'
import { docJson, sameContent, stateVector, roomDoc } from '../helpers/docs.ts'
import { spawnServer } from '../helpers/process.ts'
import { startServer, tempDir, TEST_JWT_SECRET } from '../helpers/server.ts'
import type { Config } from '../../server/config.ts'
import { waitFor } from '../helpers/wait.ts'
import { fetchApi, groupFixture, injectApi } from '../helpers/api.ts'
import { BACKENDS } from '../helpers/backends.ts'

let dir: Awaited<ReturnType<typeof tempDir>>
const clients: Client[] = []

beforeEach(async () => {
  dir = await tempDir()
})

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy()
  await dir.remove()
})

function draw(client: Client, strokes: number, author: string): void {
  for (let i = 0; i < strokes; i++) {
    const stroke = addStroke(client.doc, { author, color: '#00aa00', width: 4, tool: 'pen', points: [[i, 0]] })
    appendPoints(stroke, [[i, 1], [i, 2]])
  }
}

function processEnv(config: Partial<Config>): Record<string, string> {
  return config.mongodbUrl ? { MONGODB_URL: config.mongodbUrl, MONGODB_DB: config.mongodbDb ?? 'collab' } : {}
}

describe.each(BACKENDS)('on $name storage', ({ fresh }) => {
  const backendConfig = fresh

  it('a fresh client sees everything after a graceful restart on the same DATA_DIR', async () => {
    const backend = backendConfig()
    const first = await startServer({ dataDir: dir.path, ...backend })
    const { canvas: CANVAS, chat: CHAT, token, owner } = await groupFixture(injectApi(first.app))
    const canvas = await connectSynced(first.collabUrl, CANVAS, { token })
    const chat = await connectSynced(first.collabUrl, CHAT, { token })
    clients.push(canvas, chat)
    draw(canvas, 25, owner.id)
    postMessage(chat.doc, { author: owner.id, authorName: 'Alice', text: 'before restart' })
    await waitFor(() => readStrokes(roomDoc(first.app.collab.registry.get(CANVAS)!)).length === 25)
    await waitFor(() => readAllMessages(roomDoc(first.app.collab.registry.get(CHAT)!)).length === 1)
    await first.close()

    const second = await startServer({ dataDir: dir.path, ...backend })
    try {
      const fresh = await connectSynced(second.collabUrl, CANVAS, { token })
      const freshChat = await connectSynced(second.collabUrl, CHAT, { token })
      clients.push(fresh, freshChat)
      expect(docJson(fresh.doc)).toEqual(docJson(canvas.doc))
      expect(stateVector(fresh.doc)).toEqual(stateVector(canvas.doc))
      expect(readAllMessages(freshChat.doc).map((m) => m.text)).toEqual(['before restart'])
    } finally {
      await second.close()
    }
  })

  it('nothing accepted is lost when the process is killed with SIGKILL (the log is the durability point)', async () => {
    const env = processEnv(backendConfig())
    const first = await spawnServer({ DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, ...env })
    const { canvas: CANVAS, token, owner } = await groupFixture(fetchApi(first.url))
    const canvas = await connectSynced(first.collabUrl, CANVAS, { token })
    clients.push(canvas)
    const observer = await connectSynced(first.collabUrl, CANVAS, { token })
    clients.push(observer)
    draw(canvas, 40, owner.id)
    // Accepted = seen by another client (the server broadcasts only what is in the log). Wait for
    // all of it, the last stroke's points included: counting strokes alone let the observer
    // disconnect before the last points reached it, and the restarted server then held more.
    await waitFor(() => sameContent(observer.doc, canvas.doc))
    canvas.provider.disconnect()
    observer.provider.disconnect()
    await first.kill('SIGKILL')

    const second = await spawnServer({ DATA_DIR: dir.path, JWT_SECRET: TEST_JWT_SECRET, ...env })
    try {
      const fresh = await connectSynced(second.collabUrl, CANVAS, { token })
      clients.push(fresh)
      expect(docJson(fresh.doc)).toEqual(docJson(observer.doc))
    } finally {
      await second.kill()
    }
  })
})
