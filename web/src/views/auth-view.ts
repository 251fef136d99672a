/** Sign up or log in. On success the session changes and the app moves on by itself. */
import { ApiError, type Api } from '../api.ts'
import { h, type View } from '../dom.ts'

type Mode = 'login' | 'register'

export function authView(api: Api): View {
  let mode: Mode = 'login'
  const name = field('name', 'Name', 'text', 'name')
  const email = field('email', 'Email', 'email', 'email')
  const password = field('password', 'Password', 'password', 'current-password')
  const error = h('p', { class: 'error', role: 'alert', 'data-testid': 'auth-error' })
  const submit = h('button', { type: 'submit', 'data-testid': 'auth-submit' })
  const toggle = h('button', { type: 'button', class: 'link', 'data-testid': 'auth-toggle' })
  const title = h('h1', {})
  const form = h('form', { class: 'card auth', 'data-testid': 'auth-form' }, title, name.label, email.label, password.label, error, submit, toggle)

  const show = (next: Mode): void => {
    mode = next
    const registering = mode === 'register'
    form.dataset.mode = mode
    title.textContent = registering ? 'Create an account' : 'Log in'
    submit.textContent = registering ? 'Sign up' : 'Log in'
    toggle.textContent = registering ? 'I have an account: log in' : 'New here? Sign up'
    name.label.hidden = !registering
    name.input.required = registering
    password.input.autocomplete = registering ? 'new-password' : 'current-password'
    password.input.minLength = registering ? 8 : 1
    error.textContent = ''
  }
  toggle.addEventListener('click', () => show(mode === 'login' ? 'register' : 'login'))
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    submit.disabled = true
    error.textContent = ''
    const body: Record<string, string> = mode === 'register'
      ? { name: name.input.value, email: email.input.value, password: password.input.value }
      : { email: email.input.value, password: password.input.value }
    api.signIn(mode === 'register' ? '/auth/register' : '/auth/login', body)
      .catch((reason: unknown) => { error.textContent = reason instanceof ApiError ? reason.message : 'something went wrong' })
      .finally(() => { submit.disabled = false })
  })
  show('login')
  return { element: h('main', { class: 'page centered' }, form), dispose: () => undefined }
}

function field(name: string, text: string, type: string, autocomplete: string): { label: HTMLLabelElement; input: HTMLInputElement } {
  const input = h('input', { name, type, autocomplete, required: true, 'data-testid': `auth-${name}` })
  return { label: h('label', {}, h('span', {}, text), input), input }
}
