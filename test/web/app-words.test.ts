/**
 * What the web app says and how it reads input, without a browser: invite codes out of pasted
 * links, chat order and day labels, the words of a restore or rollback preview, and the notices.
 */
import { describe, expect, it } from 'vitest'
import type { DiffResponse, VersionResponse } from '../../shared/api.ts'
import { dayLabel, inTimeOrder } from '../../web/src/chat/chat-panel.ts'
import { byAuthor, describeRestore, describeRollback } from '../../web/src/history/change-preview.ts'
import { inviteCodeFrom, inviteLink } from '../../web/src/members/invite-link.ts'
import { noticeText } from '../../web/src/views/notice-bar.ts'

const CODE = 'AbCdEfGhIjKlMnOpQrStUv'
const names: Record<string, string> = { ann: 'Ann', bob: 'Bob' }
const nameOf = (id: string): string | undefined => names[id]

describe('invite links', () => {
  it('finds the code in a bare code, a link, a hash link, or a sentence with a link', () => {
    for (const input of [CODE, ` ${CODE} `, inviteLink(CODE, 'https://draw.example'), `https://draw.example/#/join/${CODE}`, `Join us: https://draw.example/join/${CODE}?x=1 see you`]) {
      expect(inviteCodeFrom(input), input).toBe(CODE)
    }
  })

  it('finds nothing in what is not an invite', () => {
    for (const input of ['', 'hello', 'https://draw.example/groups/abc', 'short', `/join/${CODE}!`]) expect(inviteCodeFrom(input), input).toBeNull()
  })
})

describe('chat order and days', () => {
  it('orders by written time, ties by id, whatever the arrival order', () => {
    const m = (id: string, time: number) => ({ id, author: 'a', authorName: '', text: id, time })
    expect(inTimeOrder([m('late', 3), m('b', 2), m('a', 2), m('early', 1)]).map((x) => x.id)).toEqual(['early', 'a', 'b', 'late'])
  })

  it('labels today and yesterday by the local calendar, older days by date', () => {
    const now = new Date(2026, 11, 6, 0, 30).getTime()
    expect(dayLabel(new Date(2026, 11, 6, 0, 1).getTime(), now)).toBe('Today')
    expect(dayLabel(new Date(2026, 11, 5, 23, 59).getTime(), now)).toBe('Yesterday')
    expect(dayLabel(new Date(2026, 11, 1, 12).getTime(), now)).toMatch(/2026/)
  })
})

describe('what a restore or rollback will change', () => {
  const stroke = (author: string) => ({ id: `${author}-${Math.random()}`, author, color: '#000000', points: 2 })
  it('counts by whose it is', () => {
    expect(byAuthor([stroke('ann'), stroke('bob'), stroke('ann')], 'stroke', nameOf)).toBe('3 strokes (Ann 2, Bob 1)')
    expect(byAuthor([stroke('gone')], 'stroke', nameOf)).toBe('1 stroke (a former member 1)')
    expect(byAuthor([], 'message', nameOf)).toBe('no messages')
  })

  it('reads a diff from the version to now as what a restore removes and brings back', () => {
    const diff: DiffResponse = { strokes: { added: [stroke('bob')], removed: [stroke('ann'), stroke('ann')], changed: [] }, messages: { added: [], removed: [] } }
    expect(describeRestore(diff, 'canvas', nameOf)).toEqual(['Removes 1 stroke (Bob 1).', 'Brings back 2 strokes (Ann 2).'])
    expect(describeRollback({ removed: [{ kind: 'message', id: 'm', author: 'bob' }], restored: [] }, 'chat', nameOf)).toEqual(['Removes 1 message (Bob 1).'])
  })
})

describe('notices', () => {
  const version = (made: VersionResponse['made'], doc: 'canvas' | 'chat' = 'canvas'): VersionResponse => ({ id: 'v', doc, createdAt: 0, name: 'x', authors: [], bytes: 1, made })
  const ann = { userId: 'ann', name: 'Ann' }
  const bob = { userId: 'bob', name: 'Bob' }

  it('say who did what, to whom, and call the reader "you"', () => {
    expect(noticeText(version({ kind: 'restore', by: ann, restored: { id: 'v1', name: 'V1' } }), 'bob')).toBe('Ann restored "V1" on the canvas.')
    expect(noticeText(version({ kind: 'restore', by: ann, restored: { id: 'v1', name: 'V1' } }, 'chat'), 'ann')).toBe('You restored "V1" on the chat.')
    expect(noticeText(version({ kind: 'restore', by: bob, restored: { id: 'b', name: 'before the restore of "V1"' } }), 'ann')).toBe('Bob undid the restore of "V1" on the canvas.')
    expect(noticeText(version({ kind: 'restore', by: bob, restored: { id: 'b', name: 'before a rollback' } }), 'ann')).toBe('Bob undid a rollback on the canvas.')
    expect(noticeText(version({ kind: 'rollback', by: ann, user: bob }), 'cara')).toBe('Ann rolled back Bob\'s changes on the canvas.')
    expect(noticeText(version({ kind: 'rollback', by: ann, user: bob }), 'bob')).toBe('Ann rolled back your changes on the canvas.')
  })

  it('are not made for named or automatic versions', () => {
    expect(noticeText(version({ kind: 'named', by: ann }), 'bob')).toBeNull()
    expect(noticeText(version(null), 'bob')).toBeNull()
  })
})
