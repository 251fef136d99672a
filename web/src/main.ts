/** Entry point: signed out → auth; signed in → the groups list or one group (by URL hash). */
import { Api } from './api.ts'
import type { View } from './dom.ts'
import { h } from './dom.ts'
import { currentRoute } from './router.ts'
import { Session } from './session.ts'
import { authView } from './views/auth-view.ts'
import { groupView } from './views/group-view.ts'
import { groupsView } from './views/groups-view.ts'

const session = new Session()
const api = new Api(session)
const root = document.getElementById('app') ?? document.body
const account = document.getElementById('account')
let current: View | null = null
let shownFor: string | null | undefined

function show(): void {
  current?.dispose()
  shownFor = session.user?.id ?? null
  current = !session.user ? authView(api) : pageFor()
  root.replaceChildren(current.element)
  renderAccount()
}

function pageFor(): View {
  const route = currentRoute()
  return route.name === 'group' ? groupView(api, session, route.groupId) : groupsView(api)
}

function renderAccount(): void {
  if (!account) return
  const user = session.user
  if (!user) return account.replaceChildren()
  const logout = h('button', { type: 'button', class: 'link', 'data-testid': 'logout' }, 'Log out')
  logout.addEventListener('click', () => session.signOut())
  account.replaceChildren(h('span', { 'data-testid': 'user-name' }, user.name), logout)
}

// Token refreshes also change the session; only a different user (or none) changes the page.
session.onChange(() => {
  if ((session.user?.id ?? null) !== shownFor) show()
})
window.addEventListener('hashchange', show)
show()
