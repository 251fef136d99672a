/** The REST API, with the session's bearer token; a 401 gets one refresh and one retry. */
import type { SessionResponse } from '../../shared/api.ts'
import { jsonPost, type Session } from './session.ts'

import { HttpError as ApiError } from '../../shared/http-error.ts'

export { ApiError }

export class Api {
  private readonly session: Session

  constructor(session: Session) {
    this.session = session
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body)
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body)
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path)
  }

  /** A binary answer (a picture), as a Blob; errors as for JSON requests. */
  async blob(path: string): Promise<Blob> {
    const response = await this.respond('GET', path)
    return response.ok ? response.blob() : parse<never>(response)
  }

  /** Register or log in; the session is stored on success. */
  async signIn(path: '/auth/register' | '/auth/login', body: Record<string, string>): Promise<void> {
    const response = await send(() => fetch(path, jsonPost(body)))
    this.session.signIn(await parse<SessionResponse>(response))
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return parse<T>(await this.respond(method, path, body))
  }

  private async respond(method: string, path: string, body?: unknown): Promise<Response> {
    const attempt = (): Promise<Response> => send(() => fetch(path, this.init(method, body)))
    const used = this.session.accessToken ?? undefined
    const response = await attempt()
    if (response.status === 401 && (await this.session.refresh(used)) === 'ok') return attempt()
    return response
  }

  private init(method: string, body: unknown): RequestInit {
    const headers: Record<string, string> = {}
    const token = this.session.accessToken
    if (token) headers.authorization = `Bearer ${token}`
    if (body === undefined) return { method, headers }
    headers['content-type'] = 'application/json'
    return { method, headers, body: JSON.stringify(body) }
  }
}

async function send(request: () => Promise<Response>): Promise<Response> {
  try {
    return await request()
  } catch {
    throw new ApiError(0, 'offline', 'cannot reach the server; check your connection')
  }
}

async function parse<T>(response: Response): Promise<T> {
  const text = await response.text()
  const body = text ? (JSON.parse(text) as unknown) : undefined
  if (response.ok) return body as T
  const error = (body ?? {}) as { error?: unknown; message?: unknown }
  const message = typeof error.message === 'string' ? error.message : `request failed (${response.status})`
  throw new ApiError(response.status, typeof error.error === 'string' ? error.error : 'error', message)
}
