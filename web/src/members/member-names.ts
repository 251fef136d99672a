/**
 * Who is who in a group, by the server's record: names shown for chat authors and stroke authors
 * come from here, never from the documents (a document only says which user id wrote what, and
 * the server checks that). Loaded when the group opens, kept in localStorage so it also works
 * offline, and fetched again (at most every few seconds) when an unknown author turns up.
 */
import type { MemberResponse } from '../../../shared/api.ts'
import type { Api } from '../api.ts'

/** An unknown author (a new member, most likely) is asked about again after this long. */
const REFETCH_AFTER_MS = 1_000

export class MemberNames {
  private names = new Map<string, string>()
  private fetchedAt = 0
  private fetching: Promise<void> | null = null
  /** Users asked about since the last answer, and users an answer did not have. */
  private readonly asked = new Set<string>()
  private readonly unknown = new Set<string>()
  private readonly listeners = new Set<() => void>()
  private readonly api: Api
  private readonly groupId: string

  constructor(api: Api, groupId: string, self: { id: string; name: string }) {
    this.api = api
    this.groupId = groupId
    this.names = new Map([...load(groupId), [self.id, self.name]])
    void this.refresh()
  }

  /**
   * The user's name; '…' while the server is being asked about someone new (a member who just
   * joined is not shown as a former member meanwhile); undefined once it answered without them.
   */
  nameOf(userId: string): string | undefined {
    const name = this.names.get(userId)
    if (name !== undefined) return name
    if (!this.unknown.has(userId)) {
      this.asked.add(userId)
      void this.refresh()
      return '…'
    }
    if (Date.now() - this.fetchedAt > REFETCH_AFTER_MS) void this.refresh()
    return undefined
  }

  /** Resolves once every one of these users is known, or the server was asked and did not know them. */
  async resolve(userIds: readonly string[]): Promise<void> {
    if (this.fetching) await this.fetching
    if (userIds.some((id) => !this.names.has(id))) await this.refresh()
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private refresh(): Promise<void> {
    if (this.fetching) return this.fetching
    this.fetchedAt = Date.now()
    const asked = [...this.asked]
    this.asked.clear()
    this.fetching = this.api.get<{ members: MemberResponse[] }>(`/groups/${this.groupId}/members`).then(({ members }) => {
      for (const member of members) this.names.set(member.userId, member.name)
      save(this.groupId, this.names)
    }, () => undefined).finally(() => {
      this.fetching = null
      for (const id of asked) if (!this.names.has(id)) this.unknown.add(id)
      for (const listener of this.listeners) listener()
    })
    return this.fetching
  }
}

function storageKey(groupId: string): string {
  return `collab.members.${groupId}`
}

function load(groupId: string): Array<[string, string]> {
  try {
    const parsed = JSON.parse(localStorage.getItem(storageKey(groupId)) ?? '[]') as unknown
    return Array.isArray(parsed) ? parsed.filter((e): e is [string, string] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string') : []
  } catch {
    return []
  }
}

function save(groupId: string, names: Map<string, string>): void {
  try {
    localStorage.setItem(storageKey(groupId), JSON.stringify([...names]))
  } catch {
    // storage full or disabled: names are fetched again next time
  }
}
