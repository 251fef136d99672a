/**
 * A group: the canvas and the chat, a connection indicator, whether each document's edits made
 * here are saved, who is here, and the Members, History and (owners) Webhooks panels (beside the
 * canvas on a desktop, drawers on a phone). Both documents open from IndexedDB at once and sync
 * when a socket is up, so the page works offline once the group's details are known (they are
 * kept locally).
 *
 * The page watches its access (group-watch.ts): removed or downgraded while open, it says so at
 * once, turns read-only, and offers the local copy for export; restores and rollbacks by anyone
 * show as notices with an undo for those allowed.
 */
import type * as Y from 'yjs'
import type { GroupResponse } from '../../../shared/api.ts'
import { roomName } from '../../../shared/rooms.ts'
import { ApiError, type Api } from '../api.ts'
import { board } from '../canvas/board.ts'
import { colorFor, peerList } from '../canvas/presence.ts'
import { chatPanel } from '../chat/chat-panel.ts'
import { RoomConnection, type AccessProblem } from '../collab/room-connection.ts'
import { saveIndicator } from '../collab/save-indicator.ts'
import { statusIndicator } from '../collab/status-indicator.ts'
import { Disposer, h, type View } from '../dom.ts'
import { historyPanel } from '../history/history-panel.ts'
import { MemberNames } from '../members/member-names.ts'
import { membersPanel } from '../members/members-panel.ts'
import type { Session } from '../session.ts'
import { webhooksPanel } from '../webhooks/webhooks-panel.ts'
import { exportCanvasPng, exportUnsentMessages } from './export.ts'
import { GroupWatch, type LostAccess } from './group-watch.ts'
import { noticeBar } from './notice-bar.ts'

export function groupView(api: Api, session: Session, groupId: string): View {
  const disposer = new Disposer()
  const element = h('main', { class: 'page group-page', 'data-testid': 'group-page', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Opening…'))
  let disposed = false
  disposer.add(() => { disposed = true })
  loadGroup(api, groupId).then((group) => {
    if (!disposed) open(element, group, session, api, disposer)
  }, (reason: unknown) => {
    element.replaceChildren(h('p', { class: 'error', role: 'alert' }, reason instanceof ApiError ? reason.message : 'This group cannot be opened.'), backLink())
  })
  return { element, dispose: () => disposer.dispose() }
}

/** The group's details, or (offline) the ones this browser kept from last time. */
async function loadGroup(api: Api, groupId: string): Promise<GroupResponse> {
  const key = `collab.group.${groupId}`
  try {
    const group = await api.get<GroupResponse>(`/groups/${groupId}`)
    try { localStorage.setItem(key, JSON.stringify(group)) } catch { /* storage full: fine */ }
    return group
  } catch (error) {
    const kept = error instanceof ApiError && error.status === 0 ? localStorage.getItem(key) : null
    if (kept) return JSON.parse(kept) as GroupResponse
    throw error
  }
}

function open(element: HTMLElement, group: GroupResponse, session: Session, api: Api, disposer: Disposer): void {
  const user = session.user
  if (!user) return
  const canvas = new RoomConnection(roomName(group.id, 'canvas'), session)
  const chat = new RoomConnection(roomName(group.id, 'chat'), session)
  disposer.add(() => { canvas.destroy(); chat.destroy() })
  canvas.provider.awareness.setLocalStateField('user', { name: user.name, color: colorFor(user.id) })
  const members = new MemberNames(api, group.id, user)
  const nameOf = (userId: string): string | undefined => members.nameOf(userId)

  // The board and the chat are rebuilt (same documents) when write access comes or goes.
  const work = new Disposer()
  disposer.add(() => work.dispose())
  const drawingSlot = h('div', { class: 'board-slot' })
  const chatSlot = h('div', { class: 'chat-slot', 'data-testid': 'chat-drawer' })
  let unread = 0
  const chatToggle = h('button', { type: 'button', class: 'chat-toggle', 'data-testid': 'chat-toggle', 'aria-expanded': 'false' }, 'Chat')
  const unreadBadge = h('span', { class: 'badge', 'data-testid': 'chat-unread', hidden: true })
  chatToggle.append(unreadBadge)
  const showUnread = (): void => { unreadBadge.hidden = unread === 0; unreadBadge.textContent = String(unread) }
  const build = (readOnly: boolean): void => {
    work.dispose()
    const drawing = board({ doc: canvas.doc, awareness: canvas.provider.awareness, author: user.id, readOnly, nameOf })
    const talk = chatPanel({
      doc: chat.doc, user, readOnly, nameOf, onNamesChange: (listener) => members.onChange(listener),
      onNew: (count) => { if (!chatOpen()) { unread += count; showUnread() } },
    })
    work.add(() => { drawing.dispose(); talk.dispose() })
    drawingSlot.replaceChildren(drawing.element)
    chatSlot.replaceChildren(talk.element)
  }
  const chatOpen = (): boolean => chatToggle.getAttribute('aria-expanded') === 'true' || !window.matchMedia('(max-width: 50rem)').matches
  chatToggle.addEventListener('click', () => {
    const opening = chatToggle.getAttribute('aria-expanded') !== 'true'
    chatToggle.setAttribute('aria-expanded', String(opening))
    element.classList.toggle('chat-open', opening)
    if (opening) { unread = 0; showUnread(); panels.close() }
  })
  build(group.role === 'viewer')

  const views = [statusIndicator([canvas, chat]), peerList(canvas.provider.awareness), saveIndicator(canvas.saves, 'canvas'), saveIndicator(chat.saves, 'chat')]
  for (const view of views) disposer.add(() => view.dispose())
  const [status, peers, canvasSaved, chatSaved] = views.map((view) => view.element) as [HTMLElement, HTMLElement, HTMLElement, HTMLElement]
  const problem = h('div', { class: 'access-problem', role: 'alert', 'data-testid': 'access-problem', hidden: true })
  const roleBadge = h('span', { class: 'role-badge muted', 'data-testid': 'group-role' }, group.role)
  const title = h('h1', { 'data-testid': 'group-name' }, group.name)
  const side = h('div', { class: 'side-slot' })
  const workspace = h('div', { class: 'workspace' }, drawingSlot, side, chatSlot)
  const notices = noticeBar(api, group, user.id, () => watch.role, members)
  disposer.add(() => notices.dispose())

  const lose = (lost: LostAccess): void => {
    showLostAccess(problem, lost, { canvas: canvas.doc, chat, user: user.id, groupName: group.name })
    build(true)
    roleBadge.textContent = lost === 'viewer' ? 'viewer' : 'no access'
    webhooksButton.hidden = true
    closeSide()
  }
  const watch = new GroupWatch(api, group, {
    onRole: (role) => {
      group.role = role
      roleBadge.textContent = role
      webhooksButton.hidden = role !== 'owner'
      build(role === 'viewer')
      closeSide()
      if (role === 'viewer') showLostAccess(problem, 'viewer', { canvas: canvas.doc, chat, user: user.id, groupName: group.name })
      else problem.hidden = true
    },
    onLost: lose,
    onNotices: (list) => notices.add(list),
  })
  disposer.add(() => watch.stop())
  for (const connection of [canvas, chat]) {
    disposer.add(connection.onChange(() => showProblem(problem, connection.problem, watch)))
    disposer.add(connection.saves.onChange(() => { if (connection.saves.state === 'declined') watch.check() }))
  }
  // Someone else's restore or rollback arrives as a remote edit: ask what it was.
  for (const connection of [canvas, chat]) {
    const onUpdate = (_update: Uint8Array, origin: unknown): void => { if (origin === connection.provider) watch.soon() }
    connection.doc.on('update', onUpdate)
    disposer.add(() => connection.doc.off('update', onUpdate))
  }

  const panels = new SidePanels(side, element, () => {
    // One drawer at a time on a phone: a panel opening closes the chat.
    chatToggle.setAttribute('aria-expanded', 'false')
    element.classList.remove('chat-open')
  })
  const closeSide = (): void => panels.close()
  disposer.add(closeSide)
  const membersButton = panels.toggle('Members', 'members-toggle', () => membersPanel({
    api, group, self: user.id, onClose: closeSide,
    onRenamed: (name) => { title.textContent = name },
    onGone: () => { location.hash = '#/' },
    onTransferred: () => watch.check(),
  }))
  const historyButton = panels.toggle('History', 'history-toggle', () => historyPanel({
    api, groupId: group.id, role: group.role, onClose: closeSide, names: members,
    onDone: (version) => notices.add([version]),
  }))
  const webhooksButton = panels.toggle('Webhooks', 'webhooks-toggle', () => webhooksPanel({ api, group, onClose: closeSide }))
  // Only owners manage webhooks (the server answers 403 to others); a role change shows or hides it.
  webhooksButton.hidden = group.role !== 'owner'
  const header = h('header', { class: 'group-header' },
    backLink(), title, roleBadge, status, h('span', { class: 'save-states' }, canvasSaved, chatSaved), peers,
    h('span', { class: 'header-actions' }, membersButton, historyButton, webhooksButton, chatToggle))
  element.removeAttribute('aria-busy')
  element.dataset.groupId = group.id
  element.replaceChildren(header, problem, notices.element, workspace)
}

/** One side panel at a time (Members, History or Webhooks), in the side slot. */
class SidePanels {
  private current: { view: View; button: HTMLButtonElement } | null = null
  private readonly slot: HTMLElement
  private readonly page: HTMLElement
  private readonly onOpen: () => void

  constructor(slot: HTMLElement, page: HTMLElement, onOpen: () => void) {
    this.slot = slot
    this.page = page
    this.onOpen = onOpen
  }

  toggle(label: string, testId: string, make: () => View): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'panel-toggle', 'data-testid': testId, 'aria-expanded': 'false' }, label)
    button.addEventListener('click', () => {
      const wasMine = this.current?.button === button
      this.close()
      if (wasMine) return
      const view = make()
      this.current = { view, button }
      this.slot.replaceChildren(view.element)
      button.setAttribute('aria-expanded', 'true')
      this.page.classList.add('side-open')
      this.onOpen()
    })
    return button
  }

  close(): void {
    if (!this.current) return
    this.current.view.element.remove()
    this.current.view.dispose()
    this.current.button.setAttribute('aria-expanded', 'false')
    this.current = null
    this.page.classList.remove('side-open')
  }
}

const PROBLEMS: Record<Exclude<AccessProblem, 'signed-out' | 'forbidden' | 'not-found'>, string> = {
  refused: 'The server refused a change from this page (it broke the document\'s rules). Reload to continue.',
  'document-full': 'This document has reached its size limit; erase something to make room, then reload.',
  'rate-limited': 'This page sent too much too fast and was disconnected. Reload to continue.',
}

function showProblem(element: HTMLElement, problem: AccessProblem | null, watch: GroupWatch): void {
  if (problem === null || problem === 'signed-out') return
  if (problem === 'forbidden' || problem === 'not-found') return watch.lost(problem === 'not-found' ? 'deleted' : 'removed')
  element.hidden = false
  element.textContent = PROBLEMS[problem]
}

const LOST_TEXT: Record<LostAccess, string> = {
  removed: 'You are no longer a member of this group: this page is read-only now, and nothing more you do here reaches anyone.',
  deleted: 'This group was deleted: this page is read-only now.',
  viewer: 'You are a viewer in this group now: you can watch and read, not draw or post.',
}

function showLostAccess(element: HTMLElement, lost: LostAccess, copy: { canvas: Y.Doc; chat: RoomConnection; user: string; groupName: string }): void {
  element.hidden = false
  element.dataset.lost = lost
  const text = h('p', {}, LOST_TEXT[lost])
  if (lost === 'viewer') return element.replaceChildren(text)
  const png = h('button', { type: 'button', 'data-testid': 'export-canvas' }, 'Save the canvas as PNG')
  png.addEventListener('click', () => exportCanvasPng(copy.canvas, copy.groupName))
  const unsent = h('button', { type: 'button', 'data-testid': 'export-messages' }, 'Save my unsent messages')
  unsent.addEventListener('click', () => exportUnsentMessages(copy.chat.doc, copy.user, copy.chat.saves.pending, copy.groupName))
  element.replaceChildren(text, h('p', { class: 'inline' }, 'This browser still has its copy:', png, unsent), backLink())
}

function backLink(): HTMLElement {
  return h('a', { href: '#/', class: 'back', 'data-testid': 'back', 'aria-label': 'Back to your groups' }, '←', h('span', { class: 'back-text' }, ' Groups'))
}
