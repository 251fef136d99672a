/**
 * REST helpers for tests: `app.inject` when an app object is at hand, `fetch` for servers in
 * child processes. Same interface either way.
 */
import type { FastifyInstance } from 'fastify'
import type { GroupResponse, SessionResponse } from '../../shared/api.ts'

export interface Reply<T = unknown> {
  status: number
  body: T
}

export type Api = <T = unknown>(method: string, url: string, options?: { token?: string; body?: unknown }) => Promise<Reply<T>>

export function injectApi(app: FastifyInstance): Api {
  return async <T>(method: string, url: string, options: { token?: string; body?: unknown } = {}) => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      ...(options.body !== undefined && { payload: options.body as object }),
    })
    return { status: response.statusCode, body: (response.body ? response.json() : undefined) as T }
  }
}

export function fetchApi(baseUrl: string): Api {
  return async <T>(method: string, url: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {}
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${baseUrl}${url}`, { method, headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) })
    const text = await response.text()
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T }
  }
}

let counter = 0

export interface TestUser {
  id: string
  name: string
  email: string
  token: string
  refreshToken: string
}

export async function registerUser(api: Api, name = 'User'): Promise<TestUser> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${process.pid}-${Date.now().toString(36)}-${counter++}@example.test`
  const reply = await api<SessionResponse>('POST', '/auth/register', { body: { email, password: 'correct horse battery', name } })
  if (reply.status !== 201) throw new Error(`register failed: ${reply.status} ${JSON.stringify(reply.body)}`)
  const { user, accessToken, refreshToken } = reply.body
  return { id: user.id, name, email, token: accessToken, refreshToken }
}

export async function createGroup(api: Api, owner: TestUser, name = 'Test group'): Promise<GroupResponse> {
  const reply = await api<GroupResponse>('POST', '/groups', { token: owner.token, body: { name } })
  if (reply.status !== 201) throw new Error(`create group failed: ${reply.status} ${JSON.stringify(reply.body)}`)
  return reply.body
}

/** Adds `user` to the group with `role`, the way users do it: an invite, accepted. */
export async function addMember(api: Api, owner: TestUser, groupId: string, user: TestUser, role: 'editor' | 'viewer' = 'editor'): Promise<void> {
  const invite = await api<{ code: string }>('POST', `/groups/${groupId}/invites`, { token: owner.token, body: { role } })
  if (invite.status !== 201) throw new Error(`invite failed: ${invite.status}`)
  const accepted = await api('POST', `/invites/${invite.body.code}/accept`, { token: user.token })
  if (accepted.status !== 200) throw new Error(`accept failed: ${accepted.status} ${JSON.stringify(accepted.body)}`)
}

export interface GroupFixture {
  owner: TestUser
  group: GroupResponse
  canvas: string
  chat: string
  token: string
}

/** One user owning one group: enough for tests about documents rather than access. */
export async function groupFixture(api: Api, name = 'Owner'): Promise<GroupFixture> {
  const owner = await registerUser(api, name)
  const group = await createGroup(api, owner)
  return { owner, group, canvas: group.rooms.canvas, chat: group.rooms.chat, token: owner.token }
}
