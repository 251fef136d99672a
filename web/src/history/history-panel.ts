/**
 * A group's version history, beside the live documents: pick the canvas or the chat, browse its
 * versions, preview one, restore it (owners and editors; the state before is kept as a version,
 * so a restore is undone from the same list), name the current state, and (owners) roll back one
 * person. A restore arrives on the live canvas and chat through the normal sync.
 *
 * Every failure is shown as text in the panel (`history-error`), never thrown.
 */
import type { GroupResponse, VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { ApiError, type Api } from '../api.ts'
import { h, type View } from '../dom.ts'
import { HistoryApi } from './history-api.ts'
import { sentence } from '../members/members-panel.ts'
import { versionLabel } from './version-format.ts'
import { versionList } from './version-list.ts'
import { VersionPictures } from './version-pictures.ts'
import { versionPreview } from './version-preview.ts'
import { rollbackForm } from './rollback-form.ts'
import { confirmRestore, type Names } from './change-preview.ts'

export interface HistoryPanelOptions {
  api: Api
  groupId: string
  role: GroupResponse['role']
  names: Names
  onClose(): void
  /** A restore or rollback done here: the version kept before it (for the notice with its undo). */
  onDone(before: VersionResponse): void
}

export function historyPanel(options: HistoryPanelOptions): View {
  const history = new HistoryApi(options.api, options.groupId)
  const pictures = new VersionPictures(history)
  const canEdit = options.role !== 'viewer'
  let doc: RoomKind = 'canvas'
  let closed = false
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'history-error' })
  const notice = h('p', { class: 'muted', role: 'status', 'data-testid': 'history-notice' })
  const report = (text: string): void => { if (!closed) { notice.textContent = text; error.textContent = '' } }
  const fail = (reason: unknown): void => { if (!closed) { error.textContent = messageOf(reason); notice.textContent = '' } }

  const preview = versionPreview({
    history, pictures, onError: fail,
    onClose: () => { preview.hide(); list.select(null) },
    onRollbackFrom: options.role === 'owner' ? (version) => rollback?.startAt(version) : null,
  })
  const list = versionList({
    history, pictures, canRestore: canEdit, onError: fail,
    onSelect: (version) => { preview.show(version, doc); list.select(version.id) },
    onRestore: (version) => {
      const restoring = doc
      void confirmRestore(history, version, restoring, options.names).then((yes) => {
        if (!yes || closed) return
        report(`Restoring ${versionLabel(version)}…`)
        history.restore(version.id).then((before) => {
          report(`Restored "${versionLabel(version)}". The state before it is kept as "${versionLabel(before)}"; restore that to undo.`)
          options.onDone(before)
          list.reload(doc)
          preview.refresh()
        }, fail)
      })
    },
  })
  const rollback = options.role === 'owner' ? rollbackForm({
    history, doc: () => doc, names: options.names, onError: fail,
    onDone: (before) => { options.onDone(before); list.reload(doc); preview.refresh() },
  }) : null
  const reload = (): void => {
    error.textContent = ''
    preview.hide()
    list.select(null)
    list.reload(doc)
  }

  const element = h('aside', { class: 'side-panel history-panel', id: 'history-panel', 'data-testid': 'history-panel', 'aria-label': 'Version history' },
    header(options.onClose, (next) => { doc = next; notice.textContent = ''; reload() }, reload),
    error, notice,
    canEdit ? nameForm(history, () => doc, (version) => { report(`Named "${versionLabel(version)}".`); list.reload(doc) }, fail) : null,
    preview.element, rollback?.element, list.element)
  list.reload(doc)
  return {
    element,
    dispose: () => {
      closed = true
      pictures.revokeAll()
    },
  }
}

function header(onClose: () => void, onDoc: (doc: RoomKind) => void, onRefresh: () => void): HTMLElement {
  const doc = h('select', { 'data-testid': 'history-doc', 'aria-label': 'Document' }, h('option', { value: 'canvas' }, 'Canvas'), h('option', { value: 'chat' }, 'Chat'))
  doc.addEventListener('change', () => onDoc(doc.value === 'chat' ? 'chat' : 'canvas'))
  const refresh = h('button', { type: 'button', 'data-testid': 'history-refresh' }, 'Refresh')
  refresh.addEventListener('click', onRefresh)
  const close = h('button', { type: 'button', 'data-testid': 'history-close', 'aria-label': 'Close history' }, '×')
  close.addEventListener('click', onClose)
  return h('header', { class: 'history-header' }, h('h2', {}, 'History'), doc, refresh, close)
}

/** "Name this version": keeps the document as it is now under a name, forever. */
function nameForm(history: HistoryApi, doc: () => RoomKind, onNamed: (version: VersionResponse) => void, onError: (reason: unknown) => void): HTMLElement {
  const input = h('input', { type: 'text', maxlength: 100, placeholder: 'Name this version', 'aria-label': 'Version name', 'data-testid': 'version-name-input', autocomplete: 'off' })
  const save = h('button', { type: 'submit', 'data-testid': 'version-name-save' }, 'Save')
  const form = h('form', { class: 'inline name-version' }, input, save)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const name = input.value.trim()
    if (name === '') return
    save.disabled = true
    history.name(doc(), name).then((version) => {
      input.value = ''
      onNamed(version)
    }, onError).finally(() => { save.disabled = false })
  })
  return form
}

function messageOf(reason: unknown): string {
  if (reason instanceof ApiError) return sentence(reason.message)
  return 'Something went wrong; try again.'
}
