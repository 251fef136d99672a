/**
 * The intake alone (intake/room-intake.ts): a real content gate, real budgets and held-update
 * limits, real connections over a recording transport, and a writer that records what would go
 * to the log. Each decision an update can meet is checked by what the socket and the log see:
 * logged (and what of it), held, declined (permission-denied, socket kept), refused (a named
 * close code), or left for a resync.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import pino from 'pino'
import { CloseCode } from '../../shared/close-codes.ts'
import { addStroke, appendPoints, eraseStroke, strokesOf } from '../../shared/canvas.ts'
import { messagesOf, postMessage } from '../../shared/chat.ts'
import { CanvasRules } from '../../server/collab/content/canvas-rules.ts'
import { ChatRules } from '../../server/collab/content/chat-rules.ts'
import { ContentGate } from '../../server/collab/content/content-gate.ts'
import type { GateKeeper } from '../../server/collab/intake/room-gate.ts'
import { RoomIntake, type IntakeDeps } from '../../server/collab/intake/room-intake.ts'
import { noObserver } from '../../server/collab/observer.ts'
import type { Role } from '../../server/collab/principal.ts'
import { RoomBudgets } from '../../server/collab/room/room-budgets.ts'
import type { PendingWrite, RoomWriter } from '../../server/collab/room/room-writer.ts'
import { readDeleteSet } from '../../server/collab/sync/delete-set.ts'
import { updateInfo } from '../../server/collab/sync/update-info.ts'
import { Connection } from '../../server/collab/wire/connection.ts'
import type { LogId } from '../../server/log/log-id.ts'

const PLENTY = { capacity: 1e9, perSecond: 1e9 }
/** Chat messages one user may post at once, then one a second. */
const POSTS = { capacity: 20, perSecond: 1 }
const LIMITS = { maxBufferedBytes: 1 << 20, maxAwarenessIds: 4, presenceMessages: PLENTY, presenceBytes: PLENTY, syncBytes: PLENTY }

/** A socket whose frames and close are recorded. */
class Socket {
  readonly frames: Uint8Array[] = []
  closed: { code: number; reason: string } | null = null
  readonly conn: Connection

  constructor(userId: string, role: Role = 'editor') {
    const transport = { send: (frame: Uint8Array) => void this.frames.push(frame), close: (code: number, reason: string) => { this.closed = { code, reason } }, bufferedAmount: 0 }
    this.conn = new Connection(transport, { userId, name: userId, role }, LIMITS, noObserver)
  }

  /** Permission-denied frames received (y-protocols auth message, type 2). */
  get denials(): number {
    return this.frames.filter((frame) => frame[0] === 2).length
  }
}

/** What would go to the log; `room` says whether it takes more now. */
class RecordingWriter {
  readonly written: PendingWrite[] = []
  accepting = true
  pendingBytes = 0
  accepts(): boolean {
    return this.accepting
  }
  enqueue(write: PendingWrite): boolean {
    this.written.push(write)
    return true
  }
}

interface Setup {
  intake: RoomIntake
  gate: ContentGate
  writer: RecordingWriter
  sockets: Socket[]
  position: { id: LogId }
}

function setup(kind: 'canvas' | 'chat', overrides: Partial<IntakeDeps> = {}, held = { perSocket: { updates: 8, bytes: 1 << 20 }, perUser: { updates: 16, bytes: 1 << 20 }, maxAgeMs: 5_000 }): Setup {
  const rules = kind === 'canvas' ? new CanvasRules() : new ChatRules({ offlineWindowMs: 7 * 86_400_000, maxFutureMs: 120_000 })
  // Who each client id belongs to (presence claims them across nodes): 1xx Ann, 2xx Bob.
  const gate = new ContentGate(rules, { claimedBy: (client) => (client < 200 ? 'ann' : client < 300 ? 'bob' : undefined) })
  const writer = new RecordingWriter()
  const sockets: Socket[] = []
  const position = { id: '5-0' as LogId }
  const deps: IntakeDeps = {
    room: `g/${kind}`,
    gates: { current: gate, ready: () => Promise.resolve() } as unknown as GateKeeper, // the keeper's building is not under test
    hearing: { isHeard: true, ready: () => Promise.resolve() },
    budgets: new RoomBudgets({ write: PLENTY, updates: PLENTY, presenceMessages: PLENTY, presenceBytes: PLENTY, sync: PLENTY, newClientIds: { capacity: 3, perSecond: 0.001 }, posts: POSTS }),
    writer: writer as unknown as RoomWriter, // only accepts/enqueue/pendingBytes are used
    heldBytes: () => 0,
    maxDocBytes: 1 << 20,
    held,
    position: () => position.id,
    logHead: () => Promise.resolve(position.id),
    logLost: () => false,
    sockets: () => sockets.map((s) => s.conn),
    isClosed: () => false,
    observer: noObserver,
    logger: pino({ level: 'silent' }),
    ...overrides,
  }
  return { intake: new RoomIntake(deps), gate, writer, sockets, position }
}

function join(s: Setup, userId: string, role: Role = 'editor'): Socket {
  const socket = new Socket(userId, role)
  s.sockets.push(socket)
  return socket
}

/** A member's document; `edits` returns what it did since the last call, merged. */
class Member {
  readonly doc = new Y.Doc()
  private made: Uint8Array[] = []
  readonly userId: string
  constructor(userId: string, clientId: number) {
    this.userId = userId
    this.doc.clientID = clientId
    this.doc.on('update', (update: Uint8Array, origin: unknown) => { if (origin !== 'remote') this.made.push(update) })
  }
  edits(): Uint8Array {
    const merged = Y.mergeUpdates(this.made)
    this.made = []
    return merged
  }
  learn(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update, 'remote')
  }
}

function stroke(member: Member, id: string): Uint8Array {
  addStroke(member.doc, { id, author: member.userId, color: '#000000', width: 2, tool: 'pen', points: [[0, 0], [1, 1]] })
  return member.edits()
}

/** Logs what the intake wrote into the gate, as the room does once the log holds it. */
function settle(s: Setup): void {
  s.gate.trust(s.writer.written.splice(0).map((w) => ({ writer: w.writer, update: w.update, at: '6-0' as LogId })))
}

describe('the intake', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }))
  afterEach(() => vi.useRealTimers())

  it('logs an honest edit as it is, attributed to its writer, and ignores an empty update', () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    const update = stroke(ann, 's1')
    s.intake.receive(socket.conn, update, false)
    s.intake.receive(socket.conn, new Uint8Array([0, 0]), false)
    expect(s.writer.written.map((w) => [w.writer, w.update])).toEqual([['ann', update]])
    expect(s.writer.written[0]!.bounded).toBe(true)
    expect(socket.closed).toBeNull()
  })

  it('logs only what the document lacks: a resend of known content logs nothing, a partly new one its new part', () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    s.intake.receive(socket.conn, stroke(ann, 's1'), false)
    settle(s)
    s.intake.receive(socket.conn, Y.encodeStateAsUpdate(ann.doc), true)
    expect(s.writer.written).toEqual([])
    stroke(ann, 's2')
    const whole = Y.encodeStateAsUpdate(ann.doc)
    s.intake.receive(socket.conn, whole, true)
    expect(s.writer.written).toHaveLength(1)
    expect(s.writer.written[0]!.update.length).toBeLessThan(whole.length)
    expect(updateInfo(s.writer.written[0]!.update).clients.get(101)![0]).toBeGreaterThan(0)
  })

  it('takes a member\'s posts up to her post budget and refuses a flood in one write with 4529, taking none of it; others post on', () => {
    const s = setup('chat')
    const ann = new Member('ann', 101)
    const bob = new Member('bob', 202)
    const annSocket = join(s, 'ann')
    const bobSocket = join(s, 'bob')
    const post = (member: Member, n: number, from = 0): Uint8Array => {
      member.doc.transact(() => {
        for (let i = from; i < from + n; i++) postMessage(member.doc, { id: `${member.userId}-${i}`, author: member.userId, authorName: member.userId, text: 'x', time: Date.now() })
      })
      return member.edits()
    }
    s.intake.receive(annSocket.conn, post(ann, 15), false) // an offline session's worth, in one write
    expect(s.writer.written).toHaveLength(1)
    settle(s)
    s.intake.receive(annSocket.conn, post(ann, 1000, 15), false) // the flood
    expect(annSocket.closed?.code).toBe(CloseCode.writeQuotaExceeded)
    expect(s.writer.written).toEqual([])
    s.intake.receive(bobSocket.conn, post(bob, 20), false) // Bob pays from his own budget
    expect(s.writer.written.map((w) => w.writer)).toEqual(['bob'])
    expect(bobSocket.closed).toBeNull()
    settle(s)
    // Ann's budget refills: ten seconds on, ten more posts are taken, eleven are not.
    vi.advanceTimersByTime(10_000)
    vi.spyOn(performance, 'now').mockReturnValue(performance.now() + 10_000)
    const again = join(s, 'ann')
    const tooMany = new Member('ann', 103)
    s.intake.receive(again.conn, post(tooMany, 16, 2000), false)
    expect(again.closed?.code).toBe(CloseCode.writeQuotaExceeded)
    const third = join(s, 'ann')
    const fine = new Member('ann', 104)
    s.intake.receive(third.conn, post(fine, 15, 3000), false)
    expect(third.closed).toBeNull()
    expect(s.writer.written.map((w) => w.writer)).toEqual(['ann'])
    vi.restoreAllMocks()
  })

  it('charges deletions of messages as posts, pays a long offline session once from a full budget, and gives back what was not taken', () => {
    const s = setup('chat')
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    const post = (n: number, from: number): Uint8Array => {
      ann.doc.transact(() => {
        for (let i = from; i < from + n; i++) postMessage(ann.doc, { id: `ann-${i}`, author: 'ann', authorName: 'Ann', text: 'x', time: Date.now() })
      })
      return ann.edits()
    }
    // Back from a long offline session: 60 messages (3x the budget of 20) in one write, from a full budget.
    s.intake.receive(socket.conn, post(60, 0), true)
    expect(s.writer.written).toHaveLength(1)
    expect(socket.closed).toBeNull()
    settle(s)
    // Deleting her own messages: each is an event too, paid like a post; she is in debt now.
    messagesOf(ann.doc).delete(0, 5)
    s.intake.receive(socket.conn, ann.edits(), false)
    expect(socket.closed?.code).toBe(CloseCode.writeQuotaExceeded)
    expect(s.writer.written).toEqual([])
  })

  it('takes no more than five budgets at once, even from a full budget; a write the log cannot take costs nothing', () => {
    const s = setup('chat')
    const bob = new Member('bob', 202)
    const socket = join(s, 'bob')
    bob.doc.transact(() => {
      for (let i = 0; i < 5 * POSTS.capacity + 1; i++) postMessage(bob.doc, { id: `bob-${i}`, author: 'bob', authorName: 'Bob', text: 'x', time: Date.now() })
    })
    s.writer.accepting = false // the log takes nothing now: the client keeps it and resends
    const tooMany = bob.edits()
    s.intake.receive(socket.conn, tooMany, false)
    expect(socket.closed).toBeNull()
    expect(socket.conn.needsResync).toBe(true)
    s.writer.accepting = true
    s.intake.receive(socket.conn, tooMany, true) // over five budgets: refused whatever the budget holds
    expect(socket.closed?.code).toBe(CloseCode.writeQuotaExceeded)
    const again = join(s, 'bob')
    const calm = new Member('bob', 203)
    calm.doc.transact(() => {
      for (let i = 0; i < POSTS.capacity; i++) postMessage(calm.doc, { id: `calm-${i}`, author: 'bob', authorName: 'Bob', text: 'x', time: Date.now() })
    })
    s.intake.receive(again.conn, calm.edits(), false) // the whole budget is still there: nothing was charged
    expect(again.closed).toBeNull()
    expect(s.writer.written.map((w) => w.writer)).toEqual(['bob'])
  })

  it('refuses a member\'s own edit that breaks the rules: permission-denied and 4422, nothing logged', () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    const bob = new Member('bob', 202)
    const annSocket = join(s, 'ann')
    const bobSocket = join(s, 'bob')
    const first = stroke(ann, 's1')
    s.intake.receive(annSocket.conn, first, false)
    settle(s)
    bob.learn(first)
    appendPoints(strokesOf(bob.doc).get(0), [[9, 9]]) // points on Ann's stroke
    s.intake.receive(bobSocket.conn, bob.edits(), false)
    expect(s.writer.written).toEqual([])
    expect(bobSocket.closed?.code).toBe(CloseCode.updateRefused)
    expect(bobSocket.denials).toBe(1)
    expect(annSocket.closed).toBeNull()
  })

  it('closes a socket whose update does not decode with invalidData', () => {
    const s = setup('canvas')
    const socket = join(s, 'ann')
    s.intake.receive(socket.conn, new Uint8Array([1, 1, 200, 200, 200, 200, 200]), false)
    expect(socket.closed?.code).toBe(CloseCode.invalidData)
    expect(s.writer.written).toEqual([])
  })

  it('tells a viewer it may not write, and logs nothing', () => {
    const s = setup('canvas')
    const viewer = join(s, 'vic', 'viewer')
    s.intake.receive(viewer.conn, stroke(new Member('vic', 303), 's1'), false)
    expect(s.writer.written).toEqual([])
    expect(viewer.denials).toBe(1)
  })

  it('leaves an update to the client when the log takes no more now: the socket resyncs later', () => {
    const s = setup('canvas')
    const socket = join(s, 'ann')
    s.writer.accepting = false
    s.intake.receive(socket.conn, stroke(new Member('ann', 101), 's1'), false)
    expect(s.writer.written).toEqual([])
    expect(socket.conn.needsResync).toBe(true)
    expect(socket.closed).toBeNull()
  })

  it('closes with documentTooLarge when content would pass MAX_DOC_BYTES, and still takes erasing', () => {
    const s = setup('canvas', { heldBytes: () => 1_000, maxDocBytes: 1_050 })
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    const first = stroke(ann, 'a-long-stroke-id-that-takes-bytes')
    s.intake.receive(socket.conn, first, false)
    expect(socket.closed?.code).toBe(CloseCode.documentTooLarge)
    expect(s.writer.written).toEqual([])
    const full = setup('canvas', { heldBytes: () => 1_000, maxDocBytes: 1_050 })
    full.gate.trust([{ writer: 'ann', update: first, at: '1-0' }])
    const eraser = join(full, 'ann')
    eraseStroke(ann.doc, 'a-long-stroke-id-that-takes-bytes')
    full.intake.receive(eraser.conn, ann.edits(), false)
    expect(full.writer.written).toHaveLength(1)
    expect(eraser.closed).toBeNull()
  })

  it('refuses a user introducing more client ids than the budget allows', () => {
    const s = setup('canvas')
    const socket = join(s, 'ann')
    for (let i = 0; i < 3; i++) s.intake.receive(socket.conn, stroke(new Member('ann', 150 + i), `s${i}`), false)
    expect(s.writer.written).toHaveLength(3)
    s.intake.receive(socket.conn, stroke(new Member('ann', 160), 's9'), false)
    expect(s.writer.written).toHaveLength(3)
    expect(socket.closed?.code).toBe(CloseCode.updateRefused)
  })

  it('holds an edit building on content nobody sent yet, and logs it once that content arrives', () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    const first = stroke(ann, 's1')
    const second = stroke(ann, 's2')
    s.intake.receive(socket.conn, second, false)
    expect(s.writer.written).toEqual([])
    expect(socket.conn.held).toHaveLength(1)
    s.gate.trust([{ writer: 'ann', update: first, at: '6-0' }])
    s.intake.retryHeld()
    expect(s.writer.written.map((w) => w.update)).toEqual([second])
    expect(socket.conn.held).toHaveLength(0)
  })

  it('expires what waits too long: a resend is declined (socket kept), an own edit closes the socket', async () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    stroke(ann, 's1')
    const second = stroke(ann, 's2')
    const resender = join(s, 'ann')
    const editor = join(s, 'ann')
    s.intake.receive(resender.conn, second, true)
    s.intake.receive(editor.conn, second, false)
    expect(resender.conn.held).toHaveLength(1)
    expect(editor.conn.held).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(7_000)
    expect(resender.closed).toBeNull()
    expect(resender.denials).toBe(1)
    expect(editor.closed).not.toBeNull()
    expect(s.writer.written).toEqual([])
  })

  it('bounds what one socket may leave waiting', () => {
    const s = setup('canvas', {}, { perSocket: { updates: 2, bytes: 1 << 20 }, perUser: { updates: 16, bytes: 1 << 20 }, maxAgeMs: 60_000 })
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    stroke(ann, 's0')
    for (let i = 1; i <= 3; i++) s.intake.receive(socket.conn, stroke(ann, `s${i}`), false)
    expect(socket.closed?.code).toBe(CloseCode.policyViolation)
  })

  it('takes a resend\'s own part at once and holds another member\'s part until the log was read that far', async () => {
    const s = setup('canvas')
    const ann = new Member('ann', 101)
    const bob = new Member('bob', 202)
    stroke(bob, 'b1') // drawn before Bob saw Ann's stroke: it does not build on it
    const annStroke = stroke(ann, 'a1')
    bob.learn(annStroke)
    const socket = join(s, 'bob')
    s.position.id = '1-0'
    s.intake.receive(socket.conn, Y.encodeStateAsUpdate(bob.doc), true)
    expect(s.writer.written.map((w) => [...updateInfo(w.update).clients.keys()])).toEqual([[202]])
    expect(socket.conn.held).toHaveLength(1)
    s.gate.trust([{ writer: 'ann', update: annStroke, at: '2-0' }])
    s.intake.retryHeld()
    await vi.advanceTimersByTimeAsync(10)
    expect(socket.conn.held).toHaveLength(0)
    expect(s.writer.written).toHaveLength(1) // Ann's stroke came from the log: nothing of it logged again
    expect(socket.closed).toBeNull()
  })

  it('lets a chat author delete her message and refuses another member deleting it', () => {
    const s = setup('chat')
    const ann = new Member('ann', 101)
    const bob = new Member('bob', 202)
    postMessage(ann.doc, { id: 'm1', author: 'ann', authorName: 'Ann', text: 'hi', time: Date.now() })
    const post = ann.edits()
    s.gate.trust([{ writer: 'ann', update: post, at: '1-0' }])
    bob.learn(post)
    messagesOf(bob.doc).delete(0, 1)
    const bobSocket = join(s, 'bob')
    s.intake.receive(bobSocket.conn, bob.edits(), false)
    expect(s.writer.written).toEqual([])
    messagesOf(ann.doc).delete(0, 1)
    const annSocket = join(s, 'ann')
    s.intake.receive(annSocket.conn, ann.edits(), false)
    expect(s.writer.written.map((w) => w.writer)).toEqual(['ann'])
    expect(annSocket.closed).toBeNull()
  })

  it('waits for the gate: updates that came before it was ready are admitted in order once it is', async () => {
    let ready!: () => void
    const whenReady = new Promise<void>((resolve) => { ready = resolve })
    const gate = new ContentGate(new CanvasRules(), { claimedBy: () => undefined })
    const holder: { current: ContentGate | null } = { current: null }
    const s = setup('canvas', { gates: { get current() { return holder.current }, ready: () => whenReady } as unknown as GateKeeper })
    const ann = new Member('ann', 101)
    const socket = join(s, 'ann')
    const first = stroke(ann, 's1')
    const second = stroke(ann, 's2')
    s.intake.receive(socket.conn, first, false)
    s.intake.receive(socket.conn, second, false)
    expect(s.writer.written).toEqual([])
    holder.current = gate
    ready()
    await vi.advanceTimersByTimeAsync(0)
    expect(s.writer.written.map((w) => w.update)).toEqual([first, second])
  })

  it('refuses an own edit erasing another member\'s content nobody has, but only declines it once the log lost entries', async () => {
    for (const lost of [false, true]) {
      const s = setup('canvas', { logLost: () => lost })
      const ann = new Member('ann', 101)
      const bob = new Member('bob', 202)
      bob.learn(stroke(ann, 'a1')) // Bob got Ann's stroke; the server has not (or lost it)
      eraseStroke(bob.doc, 'a1')
      const socket = join(s, 'bob')
      s.intake.receive(socket.conn, bob.edits(), false)
      expect(s.writer.written).toEqual([])
      await vi.advanceTimersByTimeAsync(10) // the log was read as far as it reached: judged now
      s.intake.retryHeld()
      expect(s.writer.written).toEqual([])
      if (lost) expect([socket.closed, socket.denials]).toEqual([null, 1])
      else expect(socket.closed?.code).toBe(CloseCode.updateRefused)
    }
  })

  it('holds a resend\'s erasure of another member\'s stroke until the log is read as far as it reached: the eraser is credited, not the member passing it on', async () => {
    for (const eraserLogged of [true, false]) {
      const s = setup('canvas', { logHead: () => Promise.resolve('2-0') })
      s.position.id = '1-0'
      const [ann, bob, cy] = [new Member('ann', 101), new Member('bob', 202), new Member('cy', 301)]
      const drawn = stroke(ann, 'a1')
      s.gate.trust([{ writer: 'ann', update: drawn, at: '1-0' }])
      bob.learn(drawn)
      eraseStroke(bob.doc, 'a1') // Bob erases Ann's stroke through another node: its entry 2-0
      const erased = bob.edits()
      cy.learn(drawn)
      cy.learn(erased) // Cy got it there too, and now resyncs with this node
      const socket = join(s, 'cy')
      s.intake.receive(socket.conn, Y.encodeStateAsUpdate(cy.doc), true)
      await vi.advanceTimersByTimeAsync(10)
      expect([s.writer.written, socket.conn.held.length]).toEqual([[], 1])
      if (eraserLogged) s.gate.trust([{ writer: 'bob', update: erased, at: '2-0' }])
      s.position.id = '2-0'
      s.intake.retryHeld()
      // Read from the log: nothing new. Not in the log: Cy is the first to bring it, and pays for it.
      expect(s.writer.written.map((w) => w.writer)).toEqual(eraserLogged ? [] : ['cy'])
      expect([socket.conn.held.length, socket.closed, socket.denials]).toEqual([0, null, 0])
    }
  })

  it('holds a resend\'s deleted message under an id nobody holds, with its deletion, until the log is read as far as it reached', async () => {
    for (const authorLogged of [true, false]) {
      const s = setup('chat', { logHead: () => Promise.resolve('2-0') })
      s.position.id = '1-0'
      // Client ids 3xx and 4xx: nobody's presence claims them.
      const [cy, dee] = [new Member('cy', 301), new Member('dee', 402)]
      postMessage(dee.doc, { id: 'd1', author: 'dee', authorName: 'Dee', text: 'oops', time: Date.now() })
      messagesOf(dee.doc).delete(0, 1) // through another node: entry 2-0
      const deleted = dee.edits()
      postMessage(cy.doc, { id: 'c1', author: 'cy', authorName: 'Cy', text: 'hi', time: Date.now() }) // not built on Dee's
      cy.learn(deleted)
      const socket = join(s, 'cy')
      s.intake.receive(socket.conn, Y.encodeStateAsUpdate(cy.doc), true)
      await vi.advanceTimersByTimeAsync(10)
      expect(s.writer.written.map((w) => [w.writer, [...w.info.clients.keys()], hasDeletions(w.update)])).toEqual([['cy', [301], false]]) // her own message at once
      expect(socket.conn.held).toHaveLength(1)
      settle(s)
      if (authorLogged) s.gate.trust([{ writer: 'dee', update: deleted, at: '2-0' }])
      s.position.id = '2-0'
      s.intake.retryHeld()
      // Read from the log: nothing new. Not in the log: Cy is the first to bring it.
      expect(s.writer.written.map((w) => w.writer)).toEqual(authorLogged ? [] : ['cy'])
      expect([socket.conn.held.length, socket.closed, socket.denials]).toEqual([0, null, 0])
    }
  })

  it('after a loss, takes two members\' resends that each hold back the other: a deletion of content nobody sent yet waits alone', () => {
    // Client ids 3xx and 4xx: nobody's presence claims them (the log and the bindings are gone).
    const s = setup('chat', { logLost: () => true })
    const cy = new Member('cy', 301)
    const dee = new Member('dee', 402)
    postMessage(cy.doc, { id: 'c1', author: 'cy', authorName: 'Cy', text: 'first', time: Date.now() })
    dee.learn(cy.edits())
    postMessage(dee.doc, { id: 'd1', author: 'dee', authorName: 'Dee', text: 'after yours', time: Date.now() })
    postMessage(dee.doc, { id: 'd2', author: 'dee', authorName: 'Dee', text: 'and again', time: Date.now() })
    messagesOf(dee.doc).delete(1, 1) // Dee's own messages build on Cy's; she deleted one
    cy.learn(Y.encodeStateAsUpdate(dee.doc))
    const [cySocket, deeSocket] = [join(s, 'cy'), join(s, 'dee')]
    // Cy's resend: her own message at once; her copy of Dee's deletion waits for Dee's message.
    s.intake.receive(cySocket.conn, Y.encodeStateAsUpdate(cy.doc), true)
    expect(s.writer.written.map((w) => [w.writer, [...w.info.clients.keys()]])).toEqual([['cy', [301]]])
    settle(s)
    // Dee's resend builds on Cy's message, which the document holds now.
    s.intake.receive(deeSocket.conn, Y.encodeStateAsUpdate(dee.doc), true)
    expect(s.writer.written.map((w) => [w.writer, [...w.info.clients.keys()]])).toEqual([['dee', [402]]])
    settle(s)
    s.intake.retryHeld()
    expect(s.writer.written).toEqual([]) // Cy's copy of the deletion adds nothing now
    expect([cySocket.conn.held.length, deeSocket.conn.held.length, cySocket.closed, deeSocket.closed]).toEqual([0, 0, null, null])
  })
})

function hasDeletions(update: Uint8Array): boolean {
  return readDeleteSet(update, updateInfo(update).deleteSetStart).length > 0
}
