/** Authorization on every socket: checked at upgrade, before any document is loaded. */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addStroke, readStrokes } from '../../shared/canvas.ts'
import { readAllMessages } from '../../shared/chat.ts'
import { CloseCode } from '../../shared/close-codes.ts'
import { addMember, createGroup, injectApi, registerUser, type Api, type TestUser } from '../helpers/api.ts'
import { connectClient, connectSynced, rawSocket, type Client } from '../helpers/clients.ts'
import { syncUpdateFrame } from '../helpers/frames.ts'
import { startServer, tempDir, TEST_JWT_SECRET, type TestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/wait.ts'
import { roomDoc } from '../helpers/docs.ts'

let server: TestServer
let dir: Awaited<ReturnType<typeof tempDir>>
let api: Api
let owner: TestUser
let outsider: TestUser
let groupId: string
let canvas: string
const clients: Client[] = []

/** The product's promise for revoked access, stated as a setting (README: REVOCATION_DEADLINE_MS). */
const REVOCATION_DEADLINE_MS = 5_000

beforeAll(async () => {
  dir = await tempDir()
  server = await startServer({ dataDir: dir.path, revocationDeadlineMs: REVOCATION_DEADLINE_MS, accessCacheTtlMs: REVOCATION_DEADLINE_MS })
  api = injectApi(server.app)
  owner = await registerUser(api, 'Owner')
  outsider = await registerUser(api, 'Outsider')
  const group = await createGroup(api, owner)
  groupId = group.id
  canvas = group.rooms.canvas
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  await server.close()
  await dir.remove()
})

interface Claims {
  secret?: string
  audience?: string
  issuer?: string
  expiresAt?: number
  subject?: string
}

function sign(claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ name: 'Owner', typ: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject ?? owner.id)
    .setIssuer(claims.issuer ?? server.config.jwtIssuer)
    .setAudience(claims.audience ?? server.config.jwtAudience)
    .setIssuedAt(now - 120)
    .setExpirationTime(claims.expiresAt ?? now + 300)
    .sign(new TextEncoder().encode(claims.secret ?? TEST_JWT_SECRET))
}

function unsigned(): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: owner.id, name: 'Owner', typ: 'access', iss: server.config.jwtIssuer, aud: server.config.jwtAudience, iat: now, exp: now + 300 })}.`
}

async function closeCodeFor(room: string, token?: string): Promise<number> {
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`
  const socket = rawSocket(`${server.collabUrl}/${room}${query}`)
  return (await socket.closed).code
}

describe('refused at upgrade', () => {
  it('a socket with a valid token of a member is accepted (control)', async () => {
    const client = await connectSynced(server.collabUrl, canvas, { token: await sign() })
    clients.push(client)
    expect(client.provider.wsconnected).toBe(true)
  })

  it.each([
    ['no token', async () => undefined],
    ['an expired token', async () => sign({ expiresAt: Math.floor(Date.now() / 1000) - 60 })],
    ['a token with alg none', async () => unsigned()],
    ['a token for another audience', async () => sign({ audience: 'someone-else' })],
    ['a token from another issuer', async () => sign({ issuer: 'someone-else' })],
    ['a forged signature', async () => sign({ secret: 'another-secret-another-secret-another-secret' })],
    ['garbage', async () => 'not.a.jwt'],
  ])('%s closes with 4401 and loads nothing', async (_label, token) => {
    const other = await createGroup(api, owner, 'Untouched')
    expect(await closeCodeFor(other.rooms.canvas, await token())).toBe(CloseCode.unauthorized)
    expect(server.app.collab.registry.isHot(other.rooms.canvas)).toBe(false)
  })

  it('a non-member closes with 4403 and loads nothing', async () => {
    const other = await createGroup(api, owner, 'Private')
    expect(await closeCodeFor(other.rooms.chat, outsider.token)).toBe(CloseCode.forbidden)
    expect(server.app.collab.registry.isHot(other.rooms.chat)).toBe(false)
  })

  it('an unknown group or a malformed room closes with 4404', async () => {
    expect(await closeCodeFor('AAAAAAAAAAAAAAAAAAAAAA/canvas', owner.token)).toBe(CloseCode.notFound)
    expect(await closeCodeFor(`${groupId}/whiteboard`, owner.token)).toBe(CloseCode.notFound)
  })

  it('a stock client stops reconnecting after a terminal refusal', async () => {
    const client = connectClient(server.collabUrl, canvas, { token: outsider.token })
    clients.push(client)
    await waitFor(() => client.closeEvents.length > 0)
    expect(client.closeEvents[0]?.code).toBe(CloseCode.forbidden)
    expect(client.provider.shouldConnect).toBe(false)
  })
})

describe('viewers are read-only', () => {
  it('refuses a viewer\'s writes: permission denied, never applied, never logged', async () => {
    const viewer = await registerUser(api, 'Viewer')
    await addMember(api, owner, groupId, viewer, 'viewer')
    const editor = await connectSynced(server.collabUrl, canvas, { token: owner.token })
    clients.push(editor)
    addStroke(editor.doc, { author: owner.id, color: '#010101', width: 2, tool: 'pen', points: [[1, 1]] })
    await waitFor(() => readStrokes(roomDoc(server.app.collab.registry.get(canvas)!)).some((s) => s.color === '#010101'))
    const logBefore = await server.app.updateLog.size(canvas)

    const socket = rawSocket(`${server.collabUrl}/${canvas}?token=${viewer.token}`)
    await socket.opened
    const forged = new Y.Doc()
    addStroke(forged, { author: viewer.id, color: '#ff00ff', width: 2, tool: 'pen', points: [[5, 5]] })
    socket.send(syncUpdateFrame(Y.encodeStateAsUpdate(forged)))
    const denial = await waitFor(() => socket.frames.find((frame) => frame[0] === 2))
    expect(new TextDecoder().decode(denial.subarray(3))).toMatch(/read-only/)

    expect(readStrokes(roomDoc(server.app.collab.registry.get(canvas)!)).some((s) => s.color === '#ff00ff')).toBe(false)
    expect(readStrokes(editor.doc).some((s) => s.color === '#ff00ff')).toBe(false)
    expect(await server.app.updateLog.size(canvas)).toBe(logBefore)
    const logged = await server.app.updateLog.read(canvas, '0-0', 10_000)
    for (const entry of logged) {
      const replay = new Y.Doc()
      for (const { update } of entry.updates) Y.applyUpdate(replay, update)
      expect(readStrokes(replay).some((s) => s.color === '#ff00ff')).toBe(false)
    }
    socket.ws.close()
  })

  it('a viewer still sees live edits and presence', async () => {
    const viewer = await registerUser(api, 'Watcher')
    await addMember(api, owner, groupId, viewer, 'viewer')
    const editor = await connectSynced(server.collabUrl, canvas, { token: owner.token })
    const watcher = await connectSynced(server.collabUrl, canvas, { token: viewer.token })
    clients.push(editor, watcher)
    editor.provider.awareness.setLocalStateField('user', { name: 'Owner' })
    addStroke(editor.doc, { author: owner.id, color: '#0a0a0a', width: 2, tool: 'pen', points: [[2, 2]] })
    await waitFor(() => readStrokes(watcher.doc).some((s) => s.color === '#0a0a0a'))
    await waitFor(() => watcher.provider.awareness.getStates().has(editor.doc.clientID))
  })
})

describe('changes while connected', () => {
  it('a removed member\'s open sockets close with 4403 within the revocation deadline', async () => {
    const member = await registerUser(api, 'Leaving')
    await addMember(api, owner, groupId, member, 'editor')
    const client = await connectSynced(server.collabUrl, canvas, { token: member.token })
    clients.push(client)
    const removed = await api('DELETE', `/groups/${groupId}/members/${member.id}`, { token: owner.token })
    expect(removed.status).toBe(204)
    // The event closes it at once; the deadline is the promise (twice it: a loaded machine).
    await waitFor(() => client.closeEvents.length > 0, 2 * REVOCATION_DEADLINE_MS, 'close within the revocation deadline')
    expect(client.closeEvents[0]?.code).toBe(CloseCode.forbidden)
    expect(await closeCodeFor(canvas, member.token)).toBe(CloseCode.forbidden)
  })

  it('a downgraded editor\'s writes are refused from then on', async () => {
    const member = await registerUser(api, 'Downgraded')
    await addMember(api, owner, groupId, member, 'editor')
    const client = await connectSynced(server.collabUrl, canvas, { token: member.token })
    clients.push(client)
    addStroke(client.doc, { author: member.id, color: '#0b0b0b', width: 2, tool: 'pen', points: [[3, 3]] })
    await waitFor(() => readStrokes(roomDoc(server.app.collab.registry.get(canvas)!)).some((s) => s.color === '#0b0b0b'))

    const changed = await api('PATCH', `/groups/${groupId}/members/${member.id}`, { token: owner.token, body: { role: 'viewer' } })
    expect(changed.status).toBe(200)
    const warnings: unknown[] = []
    const original = console.warn
    console.warn = (...args: unknown[]) => void warnings.push(args)
    try {
      addStroke(client.doc, { author: member.id, color: '#0c0c0c', width: 2, tool: 'pen', points: [[4, 4]] })
      await waitFor(() => warnings.length > 0, 2_000, 'permission denied reaches the client')
    } finally {
      console.warn = original
    }
    expect(String(warnings[0])).toMatch(/Permission denied/)
    expect(readStrokes(roomDoc(server.app.collab.registry.get(canvas)!)).some((s) => s.color === '#0c0c0c')).toBe(false)
    expect(client.provider.wsconnected).toBe(true)
  })

  it('deleting the group closes its sockets with 4404', async () => {
    const group = await createGroup(api, owner, 'Doomed')
    const client = await connectSynced(server.collabUrl, group.rooms.chat, { token: owner.token })
    clients.push(client)
    expect((await api('DELETE', `/groups/${group.id}`, { token: owner.token })).status).toBe(204)
    await waitFor(() => client.closeEvents.length > 0, 2 * REVOCATION_DEADLINE_MS, 'close within the revocation deadline')
    expect(client.closeEvents[0]?.code).toBe(CloseCode.notFound)
    expect(server.app.collab.registry.isHot(group.rooms.chat)).toBe(false)
  })
})

describe('REST chat reaches connected clients', () => {
  it('a message posted over REST is seen live by a connected client', async () => {
    const group = await createGroup(api, owner, 'Chatty')
    const client = await connectSynced(server.collabUrl, group.rooms.chat, { token: owner.token })
    clients.push(client)
    const posted = await api<{ message: { id: string } }>('POST', `/groups/${group.id}/messages`, { token: owner.token, body: { text: 'from REST' } })
    expect(posted.status).toBe(201)
    await waitFor(() => readAllMessages(client.doc).some((m) => m.id === posted.body.message.id && m.text === 'from REST'))
  })
})
