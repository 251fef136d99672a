/**
 * What a restore or a rollback will change, shown before it happens: strokes and messages that
 * go and that come back, counted by whose they are. The same words describe what happened in
 * the notices everyone gets afterwards.
 */
import type { DiffResponse, RollbackPlanResponse, VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { confirmDialog } from '../confirm.ts'
import { h } from '../dom.ts'
import type { HistoryApi } from './history-api.ts'
import { plural, versionLabel } from './version-format.ts'

export type NameOf = (userId: string) => string | undefined

/** The server's names for users; `resolve` asks again for ones not known yet (new members). */
export interface Names {
  nameOf: NameOf
  resolve(userIds: readonly string[]): Promise<void>
}

interface Change {
  author: string
}

/** "3 strokes (Ann 2, Bob 1)", or "nothing". */
export function byAuthor(items: readonly Change[], noun: string, nameOf: NameOf): string {
  if (items.length === 0) return `no ${noun}s`
  const counts = new Map<string, number>()
  for (const item of items) counts.set(item.author, (counts.get(item.author) ?? 0) + 1)
  const who = [...counts].map(([author, count]) => `${nameOf(author) ?? 'a former member'} ${count}`).join(', ')
  return `${plural(items.length, noun)} (${who})`
}

/** A restore of a version, from the diff version → now (what now has and it lacks goes, and back). */
export function describeRestore(diff: DiffResponse, doc: RoomKind, nameOf: NameOf): string[] {
  if (doc === 'chat') {
    return [`Removes ${byAuthor(diff.messages.added, 'message', nameOf)}.`, `Brings back ${byAuthor(diff.messages.removed, 'message', nameOf)}.`]
  }
  return [
    `Removes ${byAuthor(diff.strokes.added, 'stroke', nameOf)}.`,
    `Brings back ${byAuthor(diff.strokes.removed, 'stroke', nameOf)}.`,
    ...(diff.strokes.changed.length > 0 ? [`Changes ${byAuthor(diff.strokes.changed, 'stroke', nameOf)} back.`] : []),
  ]
}

export function describeRollback(plan: RollbackPlanResponse, doc: RoomKind, nameOf: NameOf): string[] {
  const noun = doc === 'chat' ? 'message' : 'stroke'
  return [`Removes ${byAuthor(plan.removed, noun, nameOf)}.`, ...(doc === 'canvas' ? [`Brings back ${byAuthor(plan.restored, 'stroke', nameOf)} they erased.`] : [])]
}

/** Asks before restoring `version`, with what it changes (filled in when the diff arrives). */
export function confirmRestore(history: HistoryApi, version: VersionResponse, doc: RoomKind, names: Names, title = `Restore "${versionLabel(version)}"?`): Promise<boolean> {
  const lines = h('ul', { class: 'change-list', 'data-testid': 'change-preview', 'aria-busy': 'true' }, h('li', { class: 'muted' }, 'Working out what changes…'))
  history.diffToCurrent(version.id).then(async (diff) => {
    await names.resolve([...diff.strokes.added, ...diff.strokes.removed, ...diff.strokes.changed, ...diff.messages.added, ...diff.messages.removed].map((c) => c.author))
    lines.replaceChildren(...describeRestore(diff, doc, (id) => names.nameOf(id)).map((line) => h('li', {}, line)))
    lines.removeAttribute('aria-busy')
  }, () => {
    lines.replaceChildren(h('li', { class: 'error' }, 'The preview could not be loaded; the restore can still be undone afterwards.'))
    lines.removeAttribute('aria-busy')
  })
  return confirmDialog({
    title,
    body: [lines, h('p', { class: 'note' }, 'Everyone sees it at once. The state before is kept as a version, so this can be undone.')],
    confirm: 'Restore',
  })
}
