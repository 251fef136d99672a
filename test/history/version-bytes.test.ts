/**
 * Version copies are bounded in bytes, not only in number: a named version stores a whole copy,
 * and an editor adding one stroke before each name defeats the shared copy (`sameAs`), so on a big
 * canvas every name stored the whole canvas again. Each user may store VERSION_WRITE_BYTES_PER_HOUR
 * of copies per hour (names, restores, rollbacks; past it 429 with Retry-After, nothing changed),
 * and a document's named versions keep at most MAX_NAMED_VERSION_BYTES_PER_DOC (past it, naming
 * gets 409 `quota_exceeded`; the states kept before restores and rollbacks are still kept). The
 * offender pays: another member still names.
 */
import { describe, expect, it } from 'vitest'
import type { VersionResponse } from '../../shared/api.ts'
import { addStroke, readStrokes, type NewStroke } from '../../shared/canvas.ts'
import { VERSION_WINDOW_MS, VersionWriteBudget } from '../../server/history/version-write-budget.ts'
import { pen, useHistoryServer } from '../helpers/history.ts'
import { roomDoc } from '../helpers/docs.ts'
import { waitFor } from '../helpers/wait.ts'
import type { Client } from '../helpers/clients.ts'

const KIB = 1024
/** Most names tried before a test gives up waiting for a refusal. */
const TRIES = 20

/** A stroke of 1,000 points with fractional coordinates (stored as doubles): about 9 KiB of canvas. */
function bigStroke(author: string, seed: number): NewStroke {
  const points = Array.from({ length: 1000 }, (_, i) => [seed + i + 0.123456789, seed * 2 + i / 3] as [number, number])
  return { author, color: '#112233', width: 3, tool: 'pen', points }
}

type Ctx = ReturnType<typeof useHistoryServer<'bob' | 'carol'>>

function helpers(ctx: Ctx) {
  const strokesInRoom = () => readStrokes(roomDoc(ctx.server.app.collab.registry.get(ctx.fx.canvas)!)).length
  return {
    /** Names the canvas; with the headers (Retry-After). */
    name: async (label: string, token: string) => {
      const reply = await ctx.server.app.inject({ method: 'POST', url: `/groups/${ctx.fx.group.id}/versions`, headers: { authorization: `Bearer ${token}` }, payload: { doc: 'canvas', name: label } })
      return { status: reply.statusCode, headers: reply.headers, body: reply.json<{ version: VersionResponse }>() }
    },
    restore: (id: string, token: string) => ctx.api<{ preRestore: VersionResponse }>('POST', `/groups/${ctx.fx.group.id}/versions/${id}/restore`, { token }),
    /** Adds `stroke` through `client` and waits until the server's room holds it (so the next copy differs). */
    draw: async (client: Client, stroke: NewStroke) => {
      const before = strokesInRoom()
      addStroke(client.doc, stroke)
      await waitFor(() => strokesInRoom() === before + 1)
    },
    strokesInRoom,
    versions: () => ctx.server.app.storage.versions.all(ctx.fx.canvas),
  }
}

describe('per user: VERSION_WRITE_BYTES_PER_HOUR', () => {
  const BUDGET = 100 * KIB
  const ctx = useHistoryServer(() => ({ versionWriteBytesPerHour: BUDGET }), { bob: 'Bob', carol: 'Carol' })
  const h = helpers(ctx)

  it('refuses an editor who adds a stroke before each name once her copies reach the budget, and nobody else', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    for (let i = 0; i < 2; i++) await h.draw(ann, bigStroke(ctx.fx.owner.id, i * 5000)) // ~18 KiB of canvas
    const bob = await ctx.client(ctx.fx.canvas, ctx.members.bob)
    const stored: VersionResponse[] = []
    let refused: Awaited<ReturnType<typeof h.name>> | undefined
    for (let i = 0; i < TRIES && !refused; i++) {
      await h.draw(bob, pen(ctx.members.bob.id, '#aa0000', i)) // one small stroke: no copy to share
      const reply = await h.name(`v${i}`, ctx.members.bob.token)
      if (reply.status === 201) stored.push(reply.body.version)
      else refused = reply
    }
    // Far below VERSION_WRITES_PER_HOUR (60): the bytes stopped her.
    expect(refused?.status).toBe(429)
    expect(refused?.body).toMatchObject({ error: 'rate_limited' })
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0)
    expect(Number(refused?.headers['retry-after'])).toBeLessThanOrEqual(3600)
    expect(stored.length).toBeGreaterThanOrEqual(2)
    expect(stored.reduce((sum, v) => sum + v.bytes, 0)).toBeLessThanOrEqual(BUDGET)

    // A restore would keep another copy: refused before anything happens (no restore, nothing kept).
    const strokes = h.strokesInRoom()
    const kept = (await h.versions()).length
    const restore = await h.restore(stored[0]!.id, ctx.members.bob.token)
    expect(restore.status).toBe(429)
    expect(h.strokesInRoom()).toBe(strokes)
    expect((await h.versions()).length).toBe(kept)

    // Carol has her own budget.
    expect((await h.name('carol', ctx.members.carol.token)).status).toBe(201)
    expect((await h.restore(stored[0]!.id, ctx.members.carol.token)).status).toBe(200)
  })
})

describe('per document: MAX_NAMED_VERSION_BYTES_PER_DOC', () => {
  const BOUND = 100 * KIB
  const ctx = useHistoryServer(() => ({ maxDocBytes: 64 * KIB, maxNamedVersionBytesPerDoc: BOUND }), { bob: 'Bob', carol: 'Carol' })
  const h = helpers(ctx)
  const storedNamedBytes = async () => {
    const named = (await h.versions()).filter((v) => v.name !== null)
    return [...new Map(named.map((v) => [v.sameAs ?? v.id, v.bytes])).values()].reduce((a, b) => a + b, 0)
  }

  it('refuses naming once the named copies would pass the bound, whoever names, and still keeps the state before a restore', async () => {
    const ann = await ctx.client(ctx.fx.canvas, ctx.fx.owner)
    for (let i = 0; i < 2; i++) await h.draw(ann, bigStroke(ctx.fx.owner.id, i * 5000))
    const users = [ctx.fx.owner, ctx.members.bob, ctx.members.carol]
    const stored: VersionResponse[] = []
    let refused: Awaited<ReturnType<typeof h.name>> | undefined
    for (let i = 0; i < TRIES && !refused; i++) {
      await h.draw(ann, pen(ctx.fx.owner.id, '#aa0000', i))
      const reply = await h.name(`v${i}`, users[i % users.length]!.token) // each user far from her own budget
      if (reply.status === 201) stored.push(reply.body.version)
      else refused = reply
    }
    expect(refused?.status).toBe(409)
    expect(refused?.body).toMatchObject({ error: 'quota_exceeded' })
    expect(stored.length).toBeGreaterThanOrEqual(2)
    expect(await storedNamedBytes()).toBeLessThanOrEqual(BOUND)

    // Undo must stay safe: a restore keeps the state before it even past the bound.
    const restore = await h.restore(stored[0]!.id, ctx.members.bob.token)
    expect(restore.status).toBe(200)
    expect((await h.versions()).some((v) => v.id === restore.body.preRestore.id)).toBe(true)
    // It holds the very state naming was refused for (nothing changed between): now past the bound.
    expect(await storedNamedBytes()).toBeGreaterThan(BOUND)
  })
})

it('charges each copy its bytes, lets the first copy of an hour through whatever its size, and gives back what stored nothing', () => {
  let now = 0
  const budget = new VersionWriteBudget({ perHour: 100, bytesPerHour: 1000 }, () => now)
  budget.spend('bob').copy(5000) // larger than the budget: the first copy of the hour still fits
  expect(() => budget.spend('bob').copy(1)).toThrow(expect.objectContaining({ status: 429, retryAfterSeconds: 3600 }))
  now = VERSION_WINDOW_MS
  budget.spend('bob').copy(600)
  const refused = budget.spend('bob')
  refused.copy(400) // exactly the budget
  expect(() => budget.spend('bob').copy(1)).toThrow(expect.objectContaining({ status: 429 }))
  refused.refund() // that write stored nothing after all: its bytes come back
  budget.spend('bob').copy(400)
  budget.spend('carol').copy(1000) // her own budget
})
