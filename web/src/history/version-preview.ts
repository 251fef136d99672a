/**
 * One version shown larger, without touching the live document: the canvas picture or the chat
 * as it was, and what changed since then (the diff to the current document).
 */
import type { DiffResponse, MessagePageResponse, VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import { append, h } from '../dom.ts'
import type { HistoryApi } from './history-api.ts'
import { authorNames, localTime, plural, versionLabel } from './version-format.ts'
import type { VersionPictures } from './version-pictures.ts'

export interface VersionPreviewOptions {
  history: HistoryApi
  pictures: VersionPictures
  /** Owners only: start a rollback at this version's time. */
  onRollbackFrom: ((version: VersionResponse) => void) | null
  onClose(): void
  onError(reason: unknown): void
}

export interface VersionPreview {
  element: HTMLElement
  show(version: VersionResponse, doc: RoomKind): void
  /** Shows the previewed version again (what changed since is out of date after a restore). */
  refresh(): void
  hide(): void
}

export function versionPreview(options: VersionPreviewOptions): VersionPreview {
  const element = h('section', { class: 'version-preview', 'data-testid': 'version-preview', 'aria-label': 'Version preview', hidden: true })
  let generation = 0
  let shown: { version: VersionResponse; doc: RoomKind } | null = null
  const hide = (): void => {
    generation++
    shown = null
    element.hidden = true
    element.replaceChildren()
    delete element.dataset.versionId
  }
  const show = (version: VersionResponse, doc: RoomKind): void => {
    const asked = ++generation
    const current = (): boolean => asked === generation
    shown = { version, doc }
    const body = h('div', { class: 'preview-body', 'aria-busy': 'true' })
    const diff = h('p', { class: 'muted', 'data-testid': 'version-diff' })
    element.dataset.versionId = version.id
    element.replaceChildren()
    append(element, heading(version, options), body, diff, rollbackFrom(version, options))
    element.hidden = false
    element.scrollIntoView({ block: 'nearest' })
    const content = doc === 'canvas'
      ? options.pictures.url(version.id).then((url) => picture(url, version))
      : options.history.messages(version.id).then(messageList)
    content.then((node) => { if (current()) body.replaceChildren(node) }, (reason: unknown) => {
      if (current()) options.onError(reason)
    }).finally(() => { if (current()) body.removeAttribute('aria-busy') })
    options.history.diffToCurrent(version.id).then((changes) => {
      if (current()) diff.textContent = `Since then: ${describeDiff(changes, doc)}.`
    }, (reason: unknown) => { if (current()) options.onError(reason) })
  }
  return { element, show, hide, refresh: () => { if (shown) show(shown.version, shown.doc) } }
}

function heading(version: VersionResponse, options: VersionPreviewOptions): HTMLElement {
  const close = h('button', { type: 'button', class: 'link', 'data-testid': 'version-preview-close' }, 'Close preview')
  close.addEventListener('click', () => options.onClose())
  const authors = authorNames(version)
  return h('header', { class: 'preview-heading' },
    h('strong', {}, versionLabel(version)), h('span', { class: 'muted' }, localTime(version.createdAt)),
    authors ? h('span', { class: 'muted' }, `by ${authors}`) : null, close,
    h('span', { class: 'note' }, 'Preview only: the live document is unchanged.'))
}

function rollbackFrom(version: VersionResponse, options: VersionPreviewOptions): HTMLElement | null {
  const start = options.onRollbackFrom
  if (!start) return null
  const button = h('button', { type: 'button', 'data-testid': 'version-rollback-from' }, 'Roll back a person from here')
  button.addEventListener('click', () => start(version))
  return button
}

function picture(url: string, version: VersionResponse): HTMLElement {
  return h('img', { class: 'preview-picture', src: url, alt: `The canvas at ${localTime(version.createdAt)}`, 'data-testid': 'version-preview-picture' })
}

function messageList(page: MessagePageResponse): HTMLElement {
  if (page.messages.length === 0) return h('p', { class: 'muted' }, 'No messages in this version.')
  return h('div', {},
    page.nextBefore === null ? null : h('p', { class: 'muted' }, 'Earlier messages are not shown.'),
    h('ol', { class: 'messages preview-messages', 'data-testid': 'version-preview-messages' }, ...page.messages.map((message) =>
      h('li', { class: 'message' },
        h('span', { class: 'message-author' }, message.authorName || 'Former member'),
        h('time', {}, localTime(message.time)),
        h('span', { class: 'message-text' }, message.text)))))
}

/** From the version to now: what restoring it would take away (added) and bring back (removed). */
function describeDiff(changes: DiffResponse, doc: RoomKind): string {
  if (doc === 'chat') return `${plural(changes.messages.added.length, 'message')} posted, ${changes.messages.removed.length} removed`
  const { added, removed, changed } = changes.strokes
  return `${plural(added.length, 'stroke')} drawn, ${removed.length} erased, ${changed.length} changed`
}
