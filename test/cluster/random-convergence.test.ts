/**
 * In the spirit of Yjs's own randomized tests: 6 clients, 3 nodes, 10,000+ random operations
 * on the canvas and the chat, with random disconnects and reconnects to random nodes. At the
 * end every client, every node and the stored snapshot hold identical documents (JSON and
 * state vector). Stream lengths are sampled throughout and must stay bounded.
 */
import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { useCluster } from '../helpers/cluster.ts'
import { docJson, stateVector } from '../helpers/docs.ts'
import { prng, randomInt } from '../helpers/random.ts'
import { sleep, waitFor } from '../helpers/wait.ts'

const CLIENTS = 6
const OPERATIONS = 10_000
const COMPACT_EVERY = 200

// One user posts ~2,800 chat messages in a minute or two from six clients: far past the post
// budget a person needs (CHAT_MESSAGE_BURST), which is not what this test is about.
const ctx = useCluster(3, { COMPACT_EVERY_UPDATES: String(COMPACT_EVERY), COMPACT_IDLE_MS: '300', REDIS_MIN_ENTRY_AGE_MS: '1000', ROOM_GRACE_MS: '1000', CHAT_MESSAGE_BURST: '100000' }, { durable: true })

interface Participant {
  canvas: Client
  chat: Client
  drawing: Y.Map<unknown> | null
}

function moveTo(client: Client, node: number): void {
  client.provider.disconnect()
  client.provider.serverUrl = ctx.cluster.nodes[node]!.collabUrl
  client.provider.connect()
}

function operate(p: Participant, random: () => number, n: number): void {
  const roll = random()
  if (roll < 0.25 || (roll < 0.65 && p.drawing === null)) {
    p.drawing = addStroke(p.canvas.doc, { author: ctx.owner.id, color: '#00ccff', width: 1 + randomInt(random, 9), tool: 'pen', points: [[randomInt(random, 500), randomInt(random, 500)]] })
  } else if (roll < 0.65) {
    if (!appendPoints(p.drawing!, [[randomInt(random, 500), randomInt(random, 500)]])) p.drawing = null
  } else if (roll < 0.72) {
    const strokes = readStrokes(p.canvas.doc)
    const victim = strokes[randomInt(random, strokes.length)]
    if (victim) eraseStroke(p.canvas.doc, victim.id)
  } else {
    postMessage(p.chat.doc, { author: ctx.owner.id, authorName: 'Owner', text: `message ${n}` })
  }
}

function perturbNetwork(p: Participant, random: () => number): void {
  for (const client of [p.canvas, p.chat]) {
    const roll = random()
    if (client.provider.shouldConnect && roll < 0.01) client.provider.disconnect()
    else if (!client.provider.shouldConnect && roll < 0.2) moveTo(client, randomInt(random, 3))
    else if (roll < 0.003) moveTo(client, randomInt(random, 3))
  }
}

it('converges after 10,000 random operations with random disconnects across 3 nodes', async () => {
  const random = prng(20261122)
  const participants: Participant[] = []
  for (let i = 0; i < CLIENTS; i++) {
    const canvas = connectClient(ctx.cluster.nodes[i % 3]!.collabUrl, ctx.group.rooms.canvas, { token: ctx.owner.token })
    const chat = connectClient(ctx.cluster.nodes[(i + 1) % 3]!.collabUrl, ctx.group.rooms.chat, { token: ctx.owner.token })
    ctx.clients.push(canvas, chat)
    participants.push({ canvas, chat, drawing: null })
  }
  await Promise.all(participants.flatMap((p) => [p.canvas.synced(), p.chat.synced()]))

  let maxStream = 0
  for (let n = 0; n < OPERATIONS; n++) {
    const p = participants[randomInt(random, CLIENTS)]!
    operate(p, random, n)
    perturbNetwork(p, random)
    if (n % 25 === 0) await sleep(1)
    if (n % 500 === 0) maxStream = Math.max(maxStream, await ctx.durable.streamLength(ctx.group.rooms.canvas))
  }

  for (const p of participants) for (const client of [p.canvas, p.chat]) if (!client.provider.shouldConnect) moveTo(client, randomInt(random, 3))
  for (const room of ['canvas', 'chat'] as const) {
    const docs = participants.map((p) => p[room].doc)
    await waitFor(() => docs.every((d) => stateVector(d) === stateVector(docs[0]!) && JSON.stringify(docJson(d)) === JSON.stringify(docJson(docs[0]!))), 60_000, `${room} clients converge`)
    const expected = { json: JSON.stringify(docJson(docs[0]!)), vector: stateVector(docs[0]!) }

    for (const node of [0, 1, 2]) {
      const fresh = await connectSynced(ctx.cluster.nodes[node]!.collabUrl, ctx.group.rooms[room], { token: ctx.owner.token })
      ctx.clients.push(fresh)
      expect({ json: JSON.stringify(docJson(fresh.doc)), vector: stateVector(fresh.doc) }, `node ${node} ${room}`).toEqual(expected)
    }
    await waitFor(async () => {
      const snapshot = await ctx.durable.snapshot(ctx.group.rooms[room])
      return snapshot !== null && JSON.stringify(docJson(snapshot)) === expected.json && stateVector(snapshot) === expected.vector
    // The last compaction of ~10,000 operations, under the lease of one of three nodes, stores the
    // snapshot and the change feed's item index through FerretDB (SQLite): measured 32 s on 2 cores
    // (2026-12-06), past the 30 s this waited before; it is a liveness bound, not a time budget.
    }, 120_000, `${room} snapshot matches`)
  }
  console.info(`[random] ${OPERATIONS} operations, ${readStrokes(participants[0]!.canvas.doc).length} strokes left, longest canvas stream sampled: ${maxStream} entries`)
  expect(maxStream).toBeLessThan(OPERATIONS / 2)
}, 330_000)
