/**
 * The Members panel of a group. Everyone sees who is in it and can leave (the owner hands the
 * group on first). Owners and editors invite: a link (`/join/<code>`) with a role and an expiry,
 * copied or shared with the system share sheet, and they see and revoke the live invites. Owners
 * change roles, remove people, transfer ownership, rename the group and delete it (after typing
 * its name). Every failure is shown as text in the panel, never thrown.
 */
import type { GroupResponse, InviteResponse, MemberResponse } from '../../../shared/api.ts'
import { ApiError, type Api } from '../api.ts'
import { confirmDialog } from '../confirm.ts'
import { h, type View } from '../dom.ts'
import { inviteLink } from './invite-link.ts'

export interface MembersPanelOptions {
  api: Api
  group: GroupResponse
  self: string
  onClose(): void
  /** The group was renamed here. */
  onRenamed(name: string): void
  /** This user is no longer in the group (left, or deleted it). */
  onGone(): void
  /** Ownership went to someone else (this page's role changed). */
  onTransferred(): void
}

const EXPIRIES = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days'], ['2592000', '30 days']] as const

export function membersPanel(options: MembersPanelOptions): View {
  const { api, group } = options
  const base = `/groups/${encodeURIComponent(group.id)}`
  let closed = false
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'members-error' })
  const status = h('p', { class: 'muted', role: 'status', 'data-testid': 'members-status' })
  const say = (text: string): void => { if (!closed) { status.textContent = text; error.textContent = '' } }
  const fail = (reason: unknown): void => { if (!closed) { error.textContent = messageOf(reason); status.textContent = '' } }
  const isOwner = group.role === 'owner'
  const canInvite = group.role !== 'viewer'

  const people = h('ul', { class: 'member-list', 'data-testid': 'member-list', 'aria-busy': 'true' })
  const invites = h('ul', { class: 'invite-list', 'data-testid': 'invite-list' })
  const reloadMembers = (): void => {
    api.get<{ members: MemberResponse[] }>(`${base}/members`).then(({ members }) => {
      if (closed) return
      people.replaceChildren(...members.map((member) => memberRow(member, { ...options, base, say, fail, reload: reloadMembers })))
      people.removeAttribute('aria-busy')
    }, fail)
  }
  const reloadInvites = (): void => {
    if (!canInvite) return
    api.get<{ invites: InviteResponse[] }>(`${base}/invites`).then(({ invites: live }) => {
      if (closed) return
      const now = Date.now()
      const shown = live.filter((invite) => invite.expiresAt > now && invite.uses < invite.maxUses)
      invites.replaceChildren(...shown.map((invite) => inviteRow(invite, api, base, reloadInvites, fail)))
      if (shown.length === 0) invites.append(h('li', { class: 'muted' }, 'No live invites.'))
    }, fail)
  }

  const close = h('button', { type: 'button', 'data-testid': 'members-close', 'aria-label': 'Close members' }, '×')
  close.addEventListener('click', () => options.onClose())
  const element = h('aside', { class: 'side-panel members-panel', id: 'members-panel', 'data-testid': 'members-panel', 'aria-label': 'Members' },
    h('header', { class: 'panel-header' }, h('h2', {}, 'Members'), close),
    error, status,
    canInvite ? inviteForm(api, base, (invite) => { say(`Invite link made: ${invite.role}, until ${expiryText(invite.expiresAt)}.`); reloadInvites() }, fail) : null,
    canInvite ? h('section', {}, h('h3', {}, 'Live invites'), invites) : null,
    h('section', {}, h('h3', {}, 'People'), people),
    isOwner ? ownerSettings(options, base, say, fail) : leaveButton(options, base, fail))
  reloadMembers()
  reloadInvites()
  // Someone may have renamed the group since this page opened.
  api.get<GroupResponse>(base).then((fresh) => {
    if (closed || fresh.name === group.name) return
    group.name = fresh.name
    options.onRenamed(fresh.name)
    const input = element.querySelector<HTMLInputElement>('[data-testid="group-rename-input"]')
    if (input) input.value = fresh.name
    element.querySelector('[data-testid="group-delete-confirm"]')?.dispatchEvent(new Event('input'))
  }, () => undefined)
  return { element, dispose: () => { closed = true } }
}

function inviteForm(api: Api, base: string, onMade: (invite: InviteResponse) => void, fail: (reason: unknown) => void): HTMLElement {
  const role = h('select', { 'data-testid': 'invite-role', 'aria-label': 'Invite as' }, h('option', { value: 'editor' }, 'Editor (draws and chats)'), h('option', { value: 'viewer' }, 'Viewer (looks and reads)'))
  const expiry = h('select', { 'data-testid': 'invite-expiry', 'aria-label': 'Link valid for' }, ...EXPIRIES.map(([value, label]) => h('option', { value, selected: value === '604800' }, label)))
  const create = h('button', { type: 'submit', 'data-testid': 'invite-create' }, 'Make invite link')
  const link = h('input', { type: 'text', readonly: true, class: 'invite-link', 'data-testid': 'invite-link', 'aria-label': 'Invite link', hidden: true })
  const copy = h('button', { type: 'button', 'data-testid': 'invite-copy', hidden: true }, 'Copy')
  const share = h('button', { type: 'button', 'data-testid': 'invite-share', hidden: true }, 'Share…')
  copy.addEventListener('click', () => {
    link.select()
    navigator.clipboard?.writeText(link.value).then(() => { copy.textContent = 'Copied' }, () => { copy.textContent = 'Select and copy' })
  })
  share.addEventListener('click', () => { void navigator.share?.({ title: 'Join my group', url: link.value }).catch(() => undefined) })
  const form = h('form', { class: 'invite-form', 'aria-label': 'Invite people' },
    h('h3', {}, 'Invite'), h('div', { class: 'inline' }, role, expiry, create), h('div', { class: 'inline' }, link, copy, share))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    create.disabled = true
    api.post<InviteResponse>(`${base}/invites`, { role: role.value, expiresInSec: Number(expiry.value) }).then((invite) => {
      link.value = inviteLink(invite.code)
      link.dataset.code = invite.code
      link.hidden = copy.hidden = false
      copy.textContent = 'Copy'
      share.hidden = typeof navigator.share !== 'function'
      onMade(invite)
    }, fail).finally(() => { create.disabled = false })
  })
  return form
}

function inviteRow(invite: InviteResponse, api: Api, base: string, reload: () => void, fail: (reason: unknown) => void): HTMLLIElement {
  const revoke = h('button', { type: 'button', class: 'link danger', 'data-testid': 'invite-revoke' }, 'Revoke')
  revoke.addEventListener('click', () => { api.delete(`${base}/invites/${encodeURIComponent(invite.code)}`).then(reload, fail) })
  return h('li', { class: 'invite-row', 'data-testid': 'invite-row', 'data-code': invite.code },
    h('span', {}, `${capital(invite.role)} · until ${expiryText(invite.expiresAt)} · used ${invite.uses} of ${invite.maxUses}`), revoke)
}

interface RowContext extends MembersPanelOptions {
  base: string
  say(text: string): void
  fail(reason: unknown): void
  reload(): void
}

function memberRow(member: MemberResponse, context: RowContext): HTMLLIElement {
  const { api, group, base } = context
  const name = member.name || 'Former member'
  const you = member.userId === context.self ? ' (you)' : ''
  const row = h('li', { class: 'member-row', 'data-testid': 'member-row', 'data-user-id': member.userId, 'data-role': member.role },
    h('span', { class: 'member-name' }, `${name}${you}`))
  if (group.role !== 'owner' || member.role === 'owner') {
    row.append(h('span', { class: 'muted' }, capital(member.role)))
    return row
  }
  const role = h('select', { 'data-testid': 'member-role', 'aria-label': `Role of ${name}` },
    h('option', { value: 'editor', selected: member.role === 'editor' }, 'Editor'), h('option', { value: 'viewer', selected: member.role === 'viewer' }, 'Viewer'))
  role.addEventListener('change', () => {
    api.patch(`${base}/members/${member.userId}`, { role: role.value }).then(() => { context.say(`${name} is now ${role.value === 'viewer' ? 'a viewer' : 'an editor'}.`); context.reload() }, context.fail)
  })
  const remove = h('button', { type: 'button', class: 'link danger', 'data-testid': 'member-remove' }, 'Remove')
  remove.addEventListener('click', () => {
    void confirmDialog({ title: `Remove ${name}?`, body: [`${name} leaves "${group.name}" now; their open pages turn read-only at once.`], confirm: 'Remove', danger: true }).then((yes) => {
      if (yes) api.delete(`${base}/members/${member.userId}`).then(() => { context.say(`${name} was removed.`); context.reload() }, context.fail)
    })
  })
  const transfer = h('button', { type: 'button', class: 'link', 'data-testid': 'member-transfer' }, 'Make owner')
  transfer.addEventListener('click', () => {
    void confirmDialog({ title: `Make ${name} the owner?`, body: [`${name} will own "${group.name}"; you become an editor.`], confirm: 'Make owner' }).then((yes) => {
      if (yes) api.post(`${base}/transfer`, { userId: member.userId }).then(() => context.onTransferred(), context.fail)
    })
  })
  row.append(role, remove, transfer)
  return row
}

/** Owners: rename, and delete after typing the group's name. */
function ownerSettings(options: MembersPanelOptions, base: string, say: (text: string) => void, fail: (reason: unknown) => void): HTMLElement {
  const { api, group } = options
  const name = h('input', { type: 'text', value: group.name, maxlength: 100, required: true, 'aria-label': 'Group name', 'data-testid': 'group-rename-input' })
  const rename = h('form', { class: 'inline' }, name, h('button', { type: 'submit', 'data-testid': 'group-rename-save' }, 'Rename'))
  rename.addEventListener('submit', (event) => {
    event.preventDefault()
    const next = name.value.trim()
    if (next === '') return
    api.patch<GroupResponse>(base, { name: next }).then((updated) => { group.name = updated.name; options.onRenamed(updated.name); say(`Renamed to "${updated.name}".`) }, fail)
  })
  const typed = h('input', { type: 'text', autocomplete: 'off', placeholder: 'Type the group name to delete it', 'aria-label': 'Type the group name to confirm', 'data-testid': 'group-delete-confirm' })
  const remove = h('button', { type: 'submit', class: 'danger', 'data-testid': 'group-delete', disabled: true }, 'Delete group')
  typed.addEventListener('input', () => { remove.disabled = typed.value.trim() !== group.name })
  const deletion = h('form', { class: 'inline' }, typed, remove)
  deletion.addEventListener('submit', (event) => {
    event.preventDefault()
    if (typed.value.trim() !== group.name) return
    api.delete(base).then(() => options.onGone(), fail)
  })
  return h('section', { class: 'owner-settings' }, h('h3', {}, 'Group'), rename,
    h('p', { class: 'note' }, 'Deleting removes the canvas, the chat, their history and every member, for good.'), deletion)
}

function leaveButton(options: MembersPanelOptions, base: string, fail: (reason: unknown) => void): HTMLElement {
  const leave = h('button', { type: 'button', class: 'danger', 'data-testid': 'group-leave' }, 'Leave this group')
  leave.addEventListener('click', () => {
    void confirmDialog({ title: 'Leave this group?', body: [`You leave "${options.group.name}"; you need a new invite to come back.`], confirm: 'Leave', danger: true }).then((yes) => {
      if (yes) options.api.post(`${base}/leave`).then(() => options.onGone(), fail)
    })
  })
  return h('section', {}, leave)
}

function expiryText(ms: number): string {
  return new Date(ms).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function messageOf(reason: unknown): string {
  return reason instanceof ApiError ? sentence(reason.message) : 'Something went wrong; try again.'
}

/** Server messages are lower-case fragments; on screen they read as sentences. */
export function sentence(text: string): string {
  const trimmed = text.trim()
  if (trimmed === '') return trimmed
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}${/[.!?]$/.test(trimmed) ? '' : '.'}`
}
