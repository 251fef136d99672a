/**
 * Notices of what people did to the documents' history ("Ann restored "V1" on the canvas", "Ann
 * rolled back Bob's changes since 14:02 on the chat"), for every member, each with an Undo for
 * those allowed to restore (it restores the version kept just before, after showing what that
 * changes) and a close button.
 */
import type { GroupResponse, VersionResponse } from '../../../shared/api.ts'
import { ApiError, type Api } from '../api.ts'
import { h, type View } from '../dom.ts'
import { confirmRestore, type Names } from '../history/change-preview.ts'
import { HistoryApi } from '../history/history-api.ts'
import { restoreWords } from '../history/version-format.ts'

export interface NoticeBar extends View {
  add(versions: VersionResponse[]): void
}

/** The sentence for a version kept before a restore or a rollback, or null for other versions. */
export function noticeText(version: VersionResponse, self: string): string | null {
  const made = version.made
  if (!made || made.kind === 'named') return null
  const who = made.by.userId === self ? 'You' : made.by.name || 'A former member'
  const where = version.doc === 'canvas' ? 'the canvas' : 'the chat'
  if (made.kind === 'restore') return `${who} ${restoreWords(made.restored?.name)} on ${where}.`
  const whose = made.user?.userId === self ? 'your' : `${made.user?.name || 'a former member'}'s`
  const since = made.since === undefined ? '' : ` since ${new Date(made.since).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
  return `${who} rolled back ${whose} changes${since} on ${where}.`
}

export function noticeBar(api: Api, group: GroupResponse, self: string, role: () => GroupResponse['role'], names: Names): NoticeBar {
  const history = new HistoryApi(api, group.id)
  const element = h('ul', { class: 'notices', 'data-testid': 'notices', 'aria-live': 'polite' })
  const shown = new Set<string>()
  const add = (versions: VersionResponse[]): void => {
    for (const version of versions) {
      const text = noticeText(version, self)
      if (text === null || shown.has(version.id)) continue
      shown.add(version.id)
      element.append(notice(version, text))
    }
  }
  const notice = (version: VersionResponse, text: string): HTMLLIElement => {
    const status = h('span', { class: 'muted', 'data-testid': 'notice-status' })
    const close = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', 'data-testid': 'notice-dismiss' }, '×')
    const item = h('li', { class: 'notice', 'data-testid': 'notice', 'data-version-id': version.id }, h('span', { 'data-testid': 'notice-text' }, text))
    if (role() !== 'viewer') {
      const undo = h('button', { type: 'button', 'data-testid': 'notice-undo' }, 'Undo')
      undo.addEventListener('click', () => {
        void confirmRestore(history, version, version.doc, names, 'Undo this?').then((yes) => {
          if (!yes) return
          undo.disabled = true
          history.restore(version.id).then(() => { status.textContent = 'Undone.'; undo.remove() }, (reason: unknown) => {
            undo.disabled = false
            status.textContent = reason instanceof ApiError ? reason.message : 'Could not undo; try again.'
          })
        })
      })
      item.append(undo)
    }
    close.addEventListener('click', () => item.remove())
    item.append(status, close)
    return item
  }
  return { element, add, dispose: () => element.replaceChildren() }
}
