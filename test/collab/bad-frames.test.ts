/**
 * Hostile frames on real sockets: each is closed with its named code, while the process stays up,
 * the room keeps its content and the other clients keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { validateUpdateV1 } from '../../server/collab/wire/update-validator.ts'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { connectSynced, rawSocket, type Client } from '../helpers/clients.ts'
import { docJson, sameContent, roomDoc } from '../helpers/docs.ts'
import { amplificationUpdate, awarenessEntries, awarenessFrame, syncUpdateFrame } from '../helpers/frames.ts'
import { prng, randomBytes, randomInt } from '../helpers/random.ts'
import { startServer, tempDir, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { addMember, groupFixture, injectApi, registerUser } from '../helpers/api.ts'

let ROOM: string
let token: string
let userId: string
/** Another member: presence ids of one user's sockets may move between them, not to others. */
let malloryToken: string
const MAX_PAYLOAD = 64 * 1024

let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
let alice: Client
let bob: Client
let contentBefore: unknown

beforeAll(async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, maxPayloadBytes: MAX_PAYLOAD })
  const api = injectApi(server.app)
  const fx = await groupFixture(api)
  ;({ canvas: ROOM, token, owner: { id: userId } } = fx)
  const mallory = await registerUser(api, 'Mallory')
  await addMember(api, fx.owner, fx.group.id, mallory)
  malloryToken = mallory.token
  alice = await connectSynced(server.collabUrl, ROOM, { token })
  bob = await connectSynced(server.collabUrl, ROOM, { token })
  alice.provider.awareness.setLocalStateField('user', { name: 'Alice' })
  for (let i = 0; i < 5; i++) addStroke(alice.doc, { author: userId, color: '#abcdef', width: 3, tool: 'pen', points: [[i, i]] })
  await waitFor(() => readStrokes(bob.doc).length === 5)
  await waitFor(() => bob.provider.awareness.getStates().has(alice.doc.clientID))
  contentBefore = docJson(alice.doc)
})

afterAll(async () => {
  alice.destroy()
  bob.destroy()
  await server.close()
  await dir.remove()
})

async function sendAndClose(frame: Uint8Array | string, as = token): Promise<{ code: number; reason: string }> {
  const socket = rawSocket(`${server.collabUrl}/${ROOM}?token=${as}`)
  await socket.opened
  socket.send(frame)
  return socket.closed
}

/** A real update frame (from a real edit) to truncate. */
function realUpdateFrame(): Uint8Array {
  const doc = new Y.Doc()
  addStroke(doc, { author: 'mallory', color: '#000000', width: 1, tool: 'pen', points: [[1, 2], [3, 4]] })
  return syncUpdateFrame(Y.encodeStateAsUpdate(doc))
}

describe('bad frames', () => {
  it('random bytes are refused with 1007 (unless they happen to form a valid message)', async () => {
    const random = prng(7)
    for (let i = 0; i < 20; i++) {
      const payload = randomBytes(random, 1 + randomInt(random, 200))
      const { code } = await sendAndClose(syncUpdateFrame(payload))
      expect(code).toBe(CloseCode.invalidData)
      expect(() => validateUpdateV1(payload)).toThrow()
    }
    const { code } = await sendAndClose(new Uint8Array([0x7f, 1, 2, 3]))
    expect(code).toBe(CloseCode.invalidData)
  })

  it('truncated messages are refused with 1007', async () => {
    const frame = realUpdateFrame()
    for (const cut of [1, 2, 3, Math.floor(frame.length / 2), frame.length - 1]) {
      const { code } = await sendAndClose(frame.subarray(0, cut))
      expect(code, `cut at ${cut}`).toBe(CloseCode.invalidData)
    }
  })

  it('oversize frames are refused with 1009', async () => {
    const { code } = await sendAndClose(syncUpdateFrame(new Uint8Array(MAX_PAYLOAD + 1)))
    expect(code).toBe(CloseCode.messageTooBig)
  })

  it('the 33,000,000-struct amplification frame is refused with 1007', async () => {
    const frame = syncUpdateFrame(amplificationUpdate())
    expect(frame.length).toBeLessThan(10)
    const { code } = await sendAndClose(frame)
    expect(code).toBe(CloseCode.invalidData)
  })

  it('text frames are refused with 1003', async () => {
    const { code } = await sendAndClose('hello')
    expect(code).toBe(CloseCode.unsupportedData)
  })

  it('setting awareness of a client id another user\'s socket owns is refused with 1008', async () => {
    const aliceId = alice.doc.clientID
    const clock = alice.provider.awareness.meta.get(aliceId)!.clock
    const { code } = await sendAndClose(awarenessFrame([{ clientId: aliceId, clock: clock + 10, state: { user: { name: 'Mallory' } } }]), malloryToken)
    expect(code).toBe(CloseCode.policyViolation)
    const before = bob.provider.awareness.getStates().get(aliceId)
    expect(before).toMatchObject({ user: { id: userId } }) // Alice's own state, stamped by the server
    expect(JSON.stringify(before)).not.toMatch(/Mallory/)
  })

  it('removing awareness of a foreign client id is never applied', async () => {
    const aliceId = alice.doc.clientID
    const clock = alice.provider.awareness.meta.get(aliceId)!.clock
    const socket = rawSocket(`${server.collabUrl}/${ROOM}?token=${malloryToken}`)
    await socket.opened
    // Her own state first: the server never sends a socket's own change back to it, so the only
    // frame holding this id is the answer to her query (every present state), not the greeting
    // every socket gets on joining, nor a relayed change.
    const probeId = 0x5eed_0001
    socket.send(awarenessFrame([{ clientId: probeId, clock: 1, state: { probe: true } }]))
    socket.send(awarenessFrame([{ clientId: aliceId, clock: clock + 10, state: null }]))
    socket.send(new Uint8Array([3])) // query awareness: answered only after the removal was handled
    const answer = await waitFor(() => socket.frames.map(awarenessEntries).find((entries) => entries?.has(probeId)), 10_000, 'the answer to the awareness query')
    expect(answer.get(aliceId)?.state).toMatchObject({ user: { id: userId } }) // still present, as the room holds it
    expect(server.app.collab.registry.get(ROOM)!.hasPresence(aliceId)).toBe(true)
    expect(bob.provider.awareness.getStates().has(aliceId)).toBe(true)
    socket.ws.close()
  })

  it('afterwards: process up, room intact, other clients unaffected and still editing', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    expect(alice.closeEvents).toEqual([])
    expect(bob.closeEvents).toEqual([])
    expect(docJson(alice.doc)).toEqual(contentBefore)
    expect(docJson(roomDoc(server.app.collab.registry.get(ROOM)!))).toEqual(contentBefore)
    addStroke(bob.doc, { author: userId, color: '#fedcba', width: 3, tool: 'pen', points: [[9, 9]] })
    await waitFor(() => readStrokes(alice.doc).length === 6)
    await waitFor(() => sameContent(alice.doc, bob.doc))
  })
})
