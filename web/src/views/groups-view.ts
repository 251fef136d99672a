/** Your groups: open one, create one, or join one with an invite code. */
import type { AcceptedInviteView, GroupListView, GroupResponse } from '../../../shared/api.ts'
import type { Static } from 'typebox'
import { ApiError, type Api } from '../api.ts'
import { h, type View } from '../dom.ts'
import { inviteCodeFrom } from '../members/invite-link.ts'
import { sentence } from '../members/members-panel.ts'
import { groupPath } from '../router.ts'

export function groupsView(api: Api): View {
  const list = h('ul', { class: 'group-list', 'data-testid': 'group-list', 'aria-busy': 'true' })
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'groups-error' })
  const fail = (reason: unknown): void => { error.textContent = reason instanceof ApiError ? sentence(reason.message) : 'Something went wrong; try again.' }
  api.get<Static<typeof GroupListView>>('/groups').then(({ groups }) => {
    list.replaceChildren(...groups.map(groupItem))
    if (groups.length === 0) list.append(h('li', { class: 'empty' }, 'No groups yet: create one, or join with an invite link.'))
    list.removeAttribute('aria-busy')
  }, fail)
  const element = h('main', { class: 'page' },
    h('section', { class: 'card' }, h('h1', {}, 'Your groups'), list),
    h('section', { class: 'card' }, h('h2', {}, 'New group'), createForm(api, fail)),
    h('section', { class: 'card' }, h('h2', {}, 'Join with an invite link'), joinForm(api, fail)),
    error)
  return { element, dispose: () => undefined }
}

function groupItem(group: GroupResponse): HTMLLIElement {
  const members = `${group.memberCount} member${group.memberCount === 1 ? '' : 's'}`
  return h('li', { 'data-group-id': group.id },
    h('a', { href: groupPath(group.id), 'data-testid': 'group-link' }, group.name),
    h('span', { class: 'muted' }, ` ${group.role} · ${members}`))
}

function createForm(api: Api, fail: (reason: unknown) => void): HTMLFormElement {
  const name = h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'Group name', 'aria-label': 'Group name', 'data-testid': 'new-group-name' })
  const form = h('form', { class: 'inline' }, name, h('button', { type: 'submit', 'data-testid': 'new-group-submit' }, 'Create'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    api.post<GroupResponse>('/groups', { name: name.value }).then((group) => { location.hash = groupPath(group.id) }, fail)
  })
  return form
}

function joinForm(api: Api, fail: (reason: unknown) => void): HTMLFormElement {
  const code = h('input', { name: 'code', required: true, placeholder: 'Paste an invite link or code', 'aria-label': 'Invite link or code', autocomplete: 'off', 'data-testid': 'join-code' })
  const form = h('form', { class: 'inline' }, code, h('button', { type: 'submit', 'data-testid': 'join-submit' }, 'Join'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const found = inviteCodeFrom(code.value)
    if (found === null) return fail(new ApiError(400, 'bad_request', 'That is not an invite link or code: paste the whole link you were sent.'))
    const path = `/invites/${encodeURIComponent(found)}/accept`
    api.post<Static<typeof AcceptedInviteView>>(path).then(({ group }) => { location.hash = groupPath(group.id) }, fail)
  })
  return form
}
