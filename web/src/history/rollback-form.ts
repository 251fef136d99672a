/**
 * The owner's "roll back this person": choose a member and a start (the last 10 minutes, the
 * last hour, today, or a version's time), and everything they changed in the document since then
 * is undone as a new edit; the answer says how much was removed and restored.
 */
import type { VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { h } from '../dom.ts'
import type { HistoryApi } from './history-api.ts'
import { localTime, plural, versionLabel } from './version-format.ts'
import { describeRollback, type Names } from './change-preview.ts'
import { confirmDialog } from '../confirm.ts'

export interface RollbackFormOptions {
  history: HistoryApi
  doc(): RoomKind
  names: Names
  onDone(before: VersionResponse): void
  onError(reason: unknown): void
}

export interface RollbackForm {
  element: HTMLElement
  /** Offers "since this version" as the start, and selects it. */
  startAt(version: VersionResponse): void
}

const AT_PREFIX = 'at:'
const RELATIVE = [['600000', 'Last 10 minutes'], ['3600000', 'Last hour'], ['today', 'Today']] as const

export function rollbackForm(options: RollbackFormOptions): RollbackForm {
  const user = h('select', { 'data-testid': 'rollback-user', 'aria-label': 'Person', required: true }, h('option', { value: '' }, 'Loading members…'))
  const since = h('select', { 'data-testid': 'rollback-since', 'aria-label': 'Since' }, ...RELATIVE.map(([value, label]) => h('option', { value }, label)))
  const run = h('button', { type: 'submit', 'data-testid': 'rollback-run' }, 'Roll back')
  const result = h('p', { class: 'muted', 'data-testid': 'rollback-result', role: 'status' })
  const form = h('form', { class: 'rollback-form', 'aria-label': 'Roll back one person' },
    h('p', { class: 'note' }, 'Undo what one member changed here since a time: what shows as theirs and came since then goes (their drawing, or copies a restore brought back), and strokes they erased (by hand or by a restore) come back. You see what changes first, and it can be undone.'),
    h('div', { class: 'inline' }, user, since, run), result)
  const section = h('details', { class: 'rollback' }, h('summary', { 'data-testid': 'rollback-open' }, 'Roll back one person'), form)
  options.history.members().then((members) => {
    user.replaceChildren(h('option', { value: '' }, 'Choose a member'), ...members.map((m) => h('option', { value: m.userId }, m.name)))
  }, options.onError)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (user.value === '') return
    run.disabled = true
    result.textContent = ''
    const name = user.selectedOptions[0]?.textContent ?? ''
    const [doc, userId, start] = [options.doc(), user.value, startOf(since.value)]
    options.history.previewRollback(doc, userId, start).then(async (plan) => {
      await options.names.resolve([...plan.removed, ...plan.restored].map((c) => c.author))
      const yes = await confirmDialog({
        // The server starts a rollback at the start of the minute (edit records are kept per minute).
        title: `Roll back ${name}'s changes since ${localTime(start - (start % 60_000))}?`,
        body: [h('ul', { class: 'change-list', 'data-testid': 'change-preview' }, ...describeRollback(plan, doc, (id) => options.names.nameOf(id)).map((line) => h('li', {}, line))),
          h('p', { class: 'note' }, 'Everyone sees it at once. The state before is kept as a version, so this can be undone.')],
        confirm: 'Roll back',
        danger: true,
      })
      if (!yes) return
      const done = await options.history.rollback(doc, userId, start)
      result.textContent = `Rolled back ${name}: ${plural(done.removed.length, 'item')} removed, ${done.restored.length} restored.`
      options.onDone(done.before)
    }).catch(options.onError).finally(() => { run.disabled = false })
  })
  return {
    element: section,
    startAt: (version) => {
      section.open = true
      offerVersion(since, version)
    },
  }
}

function offerVersion(since: HTMLSelectElement, version: VersionResponse): void {
  since.querySelector(`option[value^="${AT_PREFIX}"]`)?.remove()
  const option = h('option', { value: `${AT_PREFIX}${version.createdAt}` }, `Since ${versionLabel(version)} (${localTime(version.createdAt)})`)
  since.append(option)
  since.value = option.value
  since.focus()
}

/** The chosen start in ms since the epoch, by this browser's clock. */
function startOf(value: string): number {
  if (value.startsWith(AT_PREFIX)) return Number(value.slice(AT_PREFIX.length))
  if (value === 'today') return new Date().setHours(0, 0, 0, 0)
  return Math.max(0, Date.now() - Number(value))
}
