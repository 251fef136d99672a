/**
 * A group: the canvas and the chat side by side, a connection indicator, whether each document's
 * edits made here are saved, who is here, and (for owners and editors) invite codes. Both
 * documents open from IndexedDB at once and sync when a socket is up, so the page works offline
 * once the group's details are known.
 */
import type { GroupResponse, InviteResponse } from '../../../shared/api.ts'
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
import { MemberNames } from '../members.ts'
import type { Session } from '../session.ts'

export function groupView(api: Api, session: Session, groupId: string): View {
  const disposer = new Disposer()
  const element = h('main', { class: 'page group-page', 'data-testid': 'group-page', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Opening…'))
  let disposed = false
  disposer.add(() => { disposed = true })
  api.get<GroupResponse>(`/groups/${groupId}`).then((group) => {
    if (!disposed) open(element, group, session, api, disposer)
  }, (reason: unknown) => {
    element.replaceChildren(h('p', { class: 'error', role: 'alert' }, reason instanceof ApiError ? reason.message : 'cannot open this group'), backLink())
  })
  return { element, dispose: () => disposer.dispose() }
}

function open(element: HTMLElement, group: GroupResponse, session: Session, api: Api, disposer: Disposer): void {
  const user = session.user
  if (!user) return
  const canvas = new RoomConnection(roomName(group.id, 'canvas'), session)
  const chat = new RoomConnection(roomName(group.id, 'chat'), session)
  disposer.add(() => { canvas.destroy(); chat.destroy() })
  canvas.provider.awareness.setLocalStateField('user', { name: user.name, color: colorFor(user.id) })
  const readOnly = group.role === 'viewer'
  const members = new MemberNames(api, group.id, user)
  const nameOf = (userId: string): string | undefined => members.nameOf(userId)
  const views = [
    statusIndicator([canvas, chat]),
    peerList(canvas.provider.awareness),
    board({ doc: canvas.doc, awareness: canvas.provider.awareness, author: user.id, readOnly, nameOf }),
    chatPanel({ doc: chat.doc, user, readOnly, nameOf, onNamesChange: (listener) => members.onChange(listener) }),
    saveIndicator(canvas.saves, 'canvas'),
    saveIndicator(chat.saves, 'chat'),
  ]
  for (const view of views) disposer.add(() => view.dispose())
  const [status, peers, drawing, talk, canvasSaved, chatSaved] = views.map((view) => view.element) as [HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement]
  const problem = h('p', { class: 'error', role: 'alert', 'data-testid': 'access-problem', hidden: true })
  for (const connection of [canvas, chat]) disposer.add(connection.onChange(() => showProblem(problem, connection.problem)))
  const workspace = h('div', { class: 'workspace' }, drawing, talk)
  const header = h('header', { class: 'group-header' },
    backLink(), h('h1', { 'data-testid': 'group-name' }, group.name), h('span', { class: 'muted' }, group.role), status,
    h('span', { class: 'save-states' }, canvasSaved, chatSaved), peers,
    group.role === 'viewer' ? null : inviteControl(api, group.id), historyToggle(api, group, workspace, disposer))
  element.removeAttribute('aria-busy')
  element.dataset.groupId = group.id
  element.replaceChildren(header, problem, workspace)
}

/** The History button: opens the panel over the workspace, and closes it (freeing its pictures). */
function historyToggle(api: Api, group: GroupResponse, workspace: HTMLElement, disposer: Disposer): HTMLElement {
  const button = h('button', { type: 'button', class: 'history-toggle', 'data-testid': 'history-toggle', 'aria-expanded': 'false', 'aria-controls': 'history-panel' }, 'History')
  let panel: View | null = null
  const close = (): void => {
    panel?.element.remove()
    panel?.dispose()
    panel = null
    button.setAttribute('aria-expanded', 'false')
  }
  button.addEventListener('click', () => {
    if (panel) return close()
    panel = historyPanel({ api, groupId: group.id, role: group.role, onClose: close })
    workspace.append(panel.element)
    button.setAttribute('aria-expanded', 'true')
  })
  disposer.add(close)
  return button
}

const PROBLEMS: Record<Exclude<AccessProblem, 'signed-out'>, string> = {
  'not-found': 'This group no longer exists.',
  forbidden: 'You no longer have access to this group.',
  refused: 'The server refused a change from this page (it broke the document\'s rules). Reload to continue.',
  'document-full': 'This document has reached its size limit; erase something to make room, then reload.',
  'rate-limited': 'This page sent too much too fast and was disconnected. Reload to continue.',
}

function showProblem(element: HTMLElement, problem: AccessProblem | null): void {
  if (problem === null || problem === 'signed-out') return
  element.hidden = false
  element.textContent = PROBLEMS[problem]
}

function inviteControl(api: Api, groupId: string): HTMLElement {
  const code = h('code', { class: 'invite-code', 'data-testid': 'invite-code' })
  const button = h('button', { type: 'button', 'data-testid': 'invite-create' }, 'Invite')
  button.addEventListener('click', () => {
    api.post<InviteResponse>(`/groups/${groupId}/invites`, { role: 'editor' }).then(
      (invite) => { code.textContent = invite.code },
      (reason: unknown) => { code.textContent = reason instanceof ApiError ? reason.message : 'could not create an invite' })
  })
  return h('span', { class: 'invite' }, button, code)
}

function backLink(): HTMLElement {
  return h('a', { href: '#/', class: 'back', 'data-testid': 'back' }, '← Groups')
}
