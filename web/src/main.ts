/** Entry point: signed out → auth; signed in → the groups list or one group (by URL hash). */
import { Api } from './api.ts'
import type { View } from './dom.ts'
import { h } from './dom.ts'
import { currentRoute } from './router.ts'
import { Session } from './session.ts'
import { authView } from './views/auth-view.ts'
import { groupView } from './views/group-view.ts'
import { groupsView } from './views/groups-view.ts'
import { joinView } from './views/join-view.ts'
import { clearLocalCopies } from './local-copies.ts'
import { registerServiceWorker } from './offline.ts'

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
  if (!session.user && currentRoute().name === 'join') {
    current.element.prepend(h('p', { class: 'note join-hint', 'data-testid': 'join-hint' }, 'You were invited to a group: log in or sign up, and you join it right away.'))
  }
  renderAccount()
}

function pageFor(): View {
  const route = currentRoute()
  if (route.name === 'join') return joinView(api, route.code)
  return route.name === 'group' ? groupView(api, session, route.groupId) : groupsView(api)
}

function renderAccount(): void {
  if (!account) return
  const user = session.user
  if (!user) return account.replaceChildren()
  const logout = h('button', { type: 'button', class: 'link', 'data-testid': 'logout' }, 'Log out')
  logout.addEventListener('click', () => {
    // The group page holds the local databases open: close it before they are deleted.
    current?.dispose()
    current = null
    root.replaceChildren()
    session.signOut()
    void clearLocalCopies().then((cleared) => announceSignOut(cleared))
  })
  account.replaceChildren(h('span', { 'data-testid': 'user-name' }, user.name), logout)
}

// Token refreshes also change the session; only a different user (or none) changes the page.
session.onChange(() => {
  if ((session.user?.id ?? null) !== shownFor) show()
})
window.addEventListener('hashchange', show)
show()
registerServiceWorker()

function announceSignOut(cleared: boolean): void {
  const note = document.createElement('p')
  note.className = cleared ? 'note signed-out' : 'error signed-out'
  note.dataset.testid = 'signed-out-note'
  note.setAttribute('role', 'status')
  note.textContent = cleared
    ? 'Logged out. The copies of your groups kept in this browser were removed.'
    : 'Logged out, but this browser would not remove its copies of your groups; clear the site data to remove them.'
  root.querySelector('.signed-out')?.remove()
  root.prepend(note)
}
