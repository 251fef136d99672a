/** The version-history REST calls of one group, typed (see the README's REST table). */
import type { DiffResponse, MemberResponse, MessagePageResponse, RollbackPlanResponse, RollbackResponse, VersionListResponse, VersionResponse } from '../../../shared/api.ts'
import type { RoomKind } from '../../../shared/rooms.ts'
import type { Api } from '../api.ts'

/** Versions per page of the list. */
const PAGE = 20
/** Messages shown in a chat version's preview (the newest ones). */
const PREVIEW_MESSAGES = 100

export class HistoryApi {
  private readonly api: Api
  private readonly base: string

  constructor(api: Api, groupId: string) {
    this.api = api
    this.base = `/groups/${encodeURIComponent(groupId)}`
  }

  list(doc: RoomKind, before: number | null): Promise<VersionListResponse> {
    const query = new URLSearchParams({ doc, limit: String(PAGE) })
    if (before !== null) query.set('before', String(before))
    return this.api.get(`${this.base}/versions?${query}`)
  }

  async name(doc: RoomKind, name: string): Promise<VersionResponse> {
    return (await this.api.post<{ version: VersionResponse }>(`${this.base}/versions`, { doc, name })).version
  }

  picture(versionId: string): Promise<Blob> {
    return this.api.blob(`${this.version(versionId)}/canvas.svg`)
  }

  messages(versionId: string): Promise<MessagePageResponse> {
    return this.api.get(`${this.version(versionId)}/messages?limit=${PREVIEW_MESSAGES}`)
  }

  diffToCurrent(versionId: string): Promise<DiffResponse> {
    return this.api.get(`${this.version(versionId)}/diff?to=current`)
  }

  /** Returns the version that keeps the state before the restore (restore it to undo). */
  async restore(versionId: string): Promise<VersionResponse> {
    return (await this.api.post<{ preRestore: VersionResponse }>(`${this.version(versionId)}/restore`)).preRestore
  }

  rollback(doc: RoomKind, userId: string, since: number): Promise<RollbackResponse> {
    return this.api.post(`${this.base}/rollback`, { doc, userId, since })
  }

  previewRollback(doc: RoomKind, userId: string, since: number): Promise<RollbackPlanResponse> {
    return this.api.post(`${this.base}/rollback/preview`, { doc, userId, since })
  }

  async members(): Promise<MemberResponse[]> {
    return (await this.api.get<{ members: MemberResponse[] }>(`${this.base}/members`)).members
  }

  private version(versionId: string): string {
    return `${this.base}/versions/${encodeURIComponent(versionId)}`
  }
}
