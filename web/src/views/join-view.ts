/** Opening an invite link while signed in: join, then open the group. */
import type { AcceptedInviteView } from '../../../shared/api.ts'
import type { Static } from 'typebox'
import { ApiError, type Api } from '../api.ts'
import { h, type View } from '../dom.ts'
import { sentence } from '../members/members-panel.ts'
import { goTo, groupPath } from '../router.ts'

const WHY: Record<number, string> = {
  404: 'This invite does not exist (it may have been revoked), or its group was deleted.',
  409: 'You are already a member of this group (or in as many groups as allowed).',
  410: 'This invite has expired or been used up: ask for a new link.',
}

export function joinView(api: Api, code: string): View {
  const status = h('p', { 'data-testid': 'join-status', role: 'status' }, 'Joining the group…')
  const element = h('main', { class: 'page centered', 'data-testid': 'join-page' }, h('section', { class: 'card' }, h('h1', {}, 'Invite'), status,
    h('a', { href: '/#/', 'data-testid': 'back' }, '← Your groups')))
  api.post<Static<typeof AcceptedInviteView>>(`/invites/${encodeURIComponent(code)}/accept`).then(({ group }) => goTo(groupPath(group.id)), (reason: unknown) => {
    status.className = 'error'
    status.textContent = reason instanceof ApiError ? WHY[reason.status] ?? sentence(reason.message) : 'Something went wrong; try again.'
  })
  return { element, dispose: () => undefined }
}
