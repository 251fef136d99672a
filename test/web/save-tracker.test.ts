/**
 * The web client's save state (web/src/collab/save-tracker.ts) against a real server, with the
 * stock WebsocketProvider the page uses (Node's WebSocket here, no browser): saved only once the
 * server's echo, state vector or sync answer says it holds the edit, never because of someone
 * else's edits; not yet saved while offline or while the log does not take it; declined when the
 * server refuses it.
 *
 * The log is made slow or failing by wrapping `app.updateLog.append` (the server runs in this
 * process), as test/collab/rest-chat-durability.test.ts does.
 */
import * as Y from 'yjs'
import { afterEach, describe, expect, it } from 'vitest'
import { addStroke, appendPoints, eraseStroke, readStrokes } from '../../shared/canvas.ts'
import { postMessage } from '../../shared/chat.ts'
import { readServerMessage, type SaveState } from '../../web/src/collab/pending-changes.ts'
import { SaveTracker } from '../../web/src/collab/save-tracker.ts'
import { addMember, injectApi, registerUser, type TestUser } from '../helpers/api.ts'
import { connectClient, connectSynced, type Client } from '../helpers/clients.ts'
import { roomDoc, sameContent } from '../helpers/docs.ts'
import { useFreshServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'

const STALL_MS = 300
const ctx = useFreshServer()
const trackers: SaveTracker[] = []

afterEach(() => {
  for (const tracker of trackers.splice(0)) tracker.destroy()
})

interface Tracked {
  client: Client
  tracker: SaveTracker
  /** Every state the tracker reported, in order. */
  states: SaveState[]
  /** Frames the client received, in order. */
  frames: Uint8Array[]
}

/** A stock client on `room` with a SaveTracker beside its provider, recording what it receives. */
async function tracked(room: string, token: string): Promise<Tracked> {
  const frames: Uint8Array[] = []
  class RecordingSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      this.addEventListener('message', (event) => frames.push(new Uint8Array(event.data as ArrayBuffer)))
    }
  }
  const client = connectClient(ctx.server.collabUrl, room, { token, socket: RecordingSocket })
  ctx.clients.push(client)
  const tracker = new SaveTracker(client.doc, client.provider, { stallMs: STALL_MS })
  trackers.push(tracker)
  const states: SaveState[] = []
  tracker.onChange(() => states.push(tracker.state))
  await client.synced()
  return { client, tracker, states, frames }
}

function pen(author: TestUser | { id: string }, x = 0): Parameters<typeof addStroke>[1] {
  return { author: author.id, color: '#1f6feb', width: 3, tool: 'pen', points: [[x, x]] }
}

function serverCanvas(): Y.Doc {
  return roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)
}

/** Wraps the log's append for `room`: `hold` decides, per call, to hold it until released and then fail or go on. */
function gateAppends(room: string): { calls: () => number; release(outcome: 'fail' | 'log'): void; restore(): void } {
  const log = ctx.server.app.updateLog
  const append = log.append.bind(log)
  let calls = 0
  let open: ((outcome: 'fail' | 'log') => void) | null = null
  const gate = new Promise<'fail' | 'log'>((resolve) => { open = resolve })
  log.append = async (name, updates, options) => {
    if (name === room) {
      calls++
      if ((await gate) === 'fail') throw new Error('log unavailable (test)')
    }
    return append(name, updates, options)
  }
  return { calls: () => calls, release: (outcome) => open?.(outcome), restore: () => { log.append = append } }
}

/** Update frames that carry structs of `client` (what an echo of its edits would be). */
function framesWithStructsOf(frames: Uint8Array[], client: number): number {
  return frames.filter((frame) => {
    const message = readServerMessage(frame)
    return message.kind === 'update' && Y.decodeUpdate(message.update).structs.some((s) => s.id.client === client && !(s instanceof Y.Skip))
  }).length
}

describe('SaveTracker with a real server', () => {
  it('an edit is saving until its echo arrives, then saved; chat too', async () => {
    const ann = await tracked(ctx.fx.canvas, ctx.fx.token)
    expect(ann.tracker.state).toBe('saved')
    const stroke = addStroke(ann.client.doc, pen(ctx.fx.owner))
    expect(ann.tracker.state).toBe('saving')
    appendPoints(stroke, [[5, 5], [9, 3]])
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved')
    expect(ann.states).toEqual(['saving', 'saved'])
    expect(readStrokes(serverCanvas())[0]?.points).toHaveLength(3) // saved means the server holds it

    const chat = await tracked(ctx.fx.chat, ctx.fx.token)
    postMessage(chat.client.doc, { author: ctx.fx.owner.id, authorName: 'Owner', text: 'hello' })
    expect(chat.tracker.state).toBe('saving')
    await waitFor(() => chat.tracker.state === 'saved', 5_000, 'chat saved')
  })

  it('another user\'s edits, erasing this user\'s stroke among them, never make it not saved', async () => {
    const bobUser = await registerUser(injectApi(ctx.server.app), 'Bob')
    await addMember(injectApi(ctx.server.app), ctx.fx.owner, ctx.fx.group.id, bobUser)
    const ann = await tracked(ctx.fx.canvas, ctx.fx.token)
    const stroke = addStroke(ann.client.doc, pen(ctx.fx.owner))
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved')
    const bob = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: bobUser.token })
    ctx.clients.push(bob)
    ann.states.length = 0
    for (let i = 1; i <= 5; i++) addStroke(bob.doc, pen(bobUser, i * 10))
    eraseStroke(bob.doc, stroke.get('id') as string)
    await waitFor(() => readStrokes(ann.client.doc).length === 5, 5_000, 'Bob\'s edits at Ann\'s')
    expect(ann.tracker.state).toBe('saved')
    expect(ann.states).toEqual([])
    expect(ann.tracker.pending.isEmpty).toBe(true)
  })

  it('offline edits are not yet saved, and saved once acknowledged after reconnecting', async () => {
    const ann = await tracked(ctx.fx.canvas, ctx.fx.token)
    const first = addStroke(ann.client.doc, pen(ctx.fx.owner))
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved')
    ann.client.provider.disconnect()
    addStroke(ann.client.doc, pen(ctx.fx.owner, 30))
    eraseStroke(ann.client.doc, first.get('id') as string)
    expect(ann.tracker.state).toBe('unsaved')
    ann.client.provider.connect()
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved after reconnecting')
    expect(ann.states.slice(-3)).toEqual(['unsaved', 'saving', 'saved'])
    expect(sameContent(serverCanvas(), ann.client.doc)).toBe(true)
  })

  it('an edit the server logged but whose echo was lost with the socket is saved on reconnecting, with nothing echoed', async () => {
    const ann = await tracked(ctx.fx.canvas, ctx.fx.token)
    const first = addStroke(ann.client.doc, pen(ctx.fx.owner))
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved')
    const observer = await connectSynced(ctx.server.collabUrl, ctx.fx.canvas, { token: ctx.fx.token })
    ctx.clients.push(observer)
    const gate = gateAppends(ctx.fx.canvas)
    try {
      ann.client.doc.transact(() => {
        addStroke(ann.client.doc, pen(ctx.fx.owner, 40))
        eraseStroke(ann.client.doc, first.get('id') as string) // a deletion too: not in any state vector
      })
      await waitFor(() => gate.calls() > 0, 5_000, 'the edit on its way to the log')
      ann.client.provider.disconnect() // the echo, when it comes, finds no socket
      expect(ann.tracker.state).toBe('unsaved')
      gate.release('log')
      await waitFor(() => sameContent(observer.doc, ann.client.doc), 5_000, 'the edit logged and relayed to the observer')
    } finally {
      gate.restore()
    }
    const before = ann.frames.length
    ann.client.provider.connect()
    await waitFor(() => ann.tracker.state === 'saved', 5_000, 'saved after reconnecting')
    // The server already had it all: it sent its state vector and deletions, and echoed nothing.
    // The server already had it all: its state vector and its sync answer (which carries every
    // deletion) saved it, and nothing after the answer (no echo) carries any of it.
    const since = ann.frames.slice(before)
    expect(readServerMessage(since[0]!).kind).toBe('state-vector')
    const answered = since.findIndex((frame) => frame[0] === 0 && frame[1] === 1) // the answer's closing sync step 2
    expect(answered).toBeGreaterThan(0)
    expect(framesWithStructsOf(since.slice(answered), ann.client.doc.clientID)).toBe(0)
  })

  it('while the log does not take an edit it turns not yet saved; once the server writes it again and asks for the rest, it is saved', async () => {
    const ann = await tracked(ctx.fx.canvas, ctx.fx.token)
    const gate = gateAppends(ctx.fx.canvas)
    try {
      const stroke = addStroke(ann.client.doc, pen(ctx.fx.owner))
      expect(ann.tracker.state).toBe('saving')
      await waitFor(() => gate.calls() > 0, 5_000, 'the stroke on its way to the log')
      appendPoints(stroke, [[7, 7]]) // queued behind it: never sent to the log
      await waitFor(() => ann.tracker.state === 'unsaved', 5_000, 'stalled: not yet saved')
      expect(ann.client.provider.wsconnected).toBe(true)
      const before = ann.frames.length
      // The append fails: the server writes the stroke again itself (its outcome is unknown) and
      // asks the client for what was never sent (the points).
      gate.release('fail')
      gate.restore()
      await waitFor(() => ann.tracker.state === 'saved', 10_000, 'saved after the resync')
      expect(ann.frames.slice(before).map((frame) => readServerMessage(frame).kind)).toContain('state-vector')
    } finally {
      gate.restore()
    }
    expect(ann.states).toEqual(['saving', 'unsaved', 'saving', 'saved'])
    expect(readStrokes(serverCanvas()).map((stroke) => stroke.points.length)).toEqual([pen(ctx.fx.owner).points!.length + 1])
  })

  it('a refused edit (a viewer\'s) is declined, with the server\'s reason', async () => {
    const api = injectApi(ctx.server.app)
    const viewerUser = await registerUser(api, 'Vera')
    await addMember(api, ctx.fx.owner, ctx.fx.group.id, viewerUser, 'viewer')
    const vera = await tracked(ctx.fx.canvas, viewerUser.token)
    addStroke(vera.client.doc, pen(viewerUser))
    await waitFor(() => vera.tracker.state === 'declined', 5_000, 'declined')
    expect(vera.tracker.declinedReason).toMatch(/read-only/)
    expect(readStrokes(serverCanvas())).toHaveLength(0)
  })
})
