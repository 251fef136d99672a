/**
 * Offline editing: one user's browser goes offline, both keep drawing and chatting, it comes
 * back, and both pages converge to the same strokes and the same conversation.
 *
 * How offline is produced. `context.setOffline(true)` makes Chromium report navigator.onLine
 * false, fire `offline` and fail new connections, but it leaves an already open WebSocket open:
 * its frames (the close handshake included) are held back and delivered once the context is
 * online again (checked with Chromium 156), so on its own it would not cut the live sync. The
 * web client listens for the browser's `offline` event and drops its sockets at once (what it
 * should do in a real outage, rather than wait for y-websocket's 30 s silence check), and
 * reconnects on `online`. The test checks that no edit crossed while offline, so the merge
 * afterwards is real, and that the page came back on new sockets, the old ones closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addMember, createGroup, registerUser } from '../helpers/api.ts'
import {
  canvasSvg, chatTexts, drawStroke, expectStrokeCount, logInViaUi, openGroup, openSockets, openUserPage, postChat, strokeCount,
  svgStrokeColors, unexpectedErrors, useBrowserEnv, waitForStatus, type UserPage,
} from './harness.ts'

const env = useBrowserEnv()

describe('offline editing', () => {
  let online: UserPage
  let traveller: UserPage
  let groupId = ''

  beforeAll(async () => {
    // Accounts and membership are set up over REST: not what this test is about.
    const owner = await registerUser(env.api, 'Olive')
    const member = await registerUser(env.api, 'Theo')
    groupId = (await createGroup(env.api, owner, 'Field trip')).id
    await addMember(env.api, owner, groupId, member)
    ;[online, traveller] = await Promise.all([openUserPage(env), openUserPage(env)])
    await Promise.all([logInViaUi(online.page, owner.email), logInViaUi(traveller.page, member.email)])
    await Promise.all([openGroup(online.page, groupId), openGroup(traveller.page, groupId)])
  })

  afterAll(async () => {
    await Promise.all([online?.context.close(), traveller?.context.close()])
  })

  it('keeps both sides editing while one is offline and converges when it is back', async () => {
    await drawStroke(online.page, [[50, 50], [150, 80]])
    await postChat(online.page, 'before the trip')
    await expectStrokeCount(traveller.page, 1)
    await expect.poll(() => chatTexts(traveller.page)).toEqual(['before the trip'])

    const wereOpen = openSockets(traveller)
    expect(wereOpen.map((socket) => new URL(socket.url()).pathname.split('/').pop()).sort()).toEqual(['canvas', 'chat'])
    await traveller.context.setOffline(true)
    await waitForStatus(traveller.page, 'offline')

    await drawStroke(online.page, [[60, 200], [200, 220], [260, 260]])
    await postChat(online.page, 'from the office')
    await drawStroke(traveller.page, [[400, 100], [460, 180]])
    await drawStroke(traveller.page, [[420, 300], [500, 310]])
    await postChat(traveller.page, 'from the train')
    await expectStrokeCount(online.page, 2)
    await expectStrokeCount(traveller.page, 3)
    // No wait for "anything crossing": the traveller's page closed its providers when it went
    // offline (the status says so) and the browser passes no traffic while offline, so nothing
    // can cross; waiting longer could not make a difference the counts would show.
    expect([await strokeCount(online.page), await strokeCount(traveller.page)]).toEqual([2, 3])
    expect(await chatTexts(online.page)).toEqual(['before the trip', 'from the office'])
    expect(await chatTexts(traveller.page)).toEqual(['before the trip', 'from the train'])

    await traveller.context.setOffline(false)
    await waitForStatus(traveller.page, 'connected')
    // The page dropped its old sockets and opened new ones (not merely resumed the old ones).
    await expect.poll(() => wereOpen.every((socket) => socket.isClosed())).toBe(true)
    expect(openSockets(traveller).filter((socket) => wereOpen.includes(socket))).toEqual([])
    expect(openSockets(traveller)).toHaveLength(2)
    await expectStrokeCount(online.page, 4)
    await expectStrokeCount(traveller.page, 4)
    // The chat is its own document: it syncs on its own socket, not with the canvas.
    await expect.poll(async () => (await chatTexts(online.page)).sort()).toEqual(['before the trip', 'from the office', 'from the train'])
    const texts = await chatTexts(online.page)
    await expect.poll(() => chatTexts(traveller.page)).toEqual(texts) // same order on both sides
    expect(svgStrokeColors(await canvasSvg(env, groupId, online.page))).toHaveLength(4)
    expect(unexpectedErrors(online)).toEqual([])
    expect(unexpectedErrors(traveller)).toEqual([])
  })
})
