/** Builds the domain services on top of storage, log and the collaboration core. */
import { withStorageDeadline } from './storage/deadline.ts'
import type { CollabCore } from './collab/index.ts'
import { VersionWriteBudget } from './history/version-write-budget.ts'
import { HistoryViewBudget } from './history/history-view-budget.ts'
import { HistoryService } from './history/history-service.ts'
import { AccountService } from './accounts/account-service.ts'
import { resolveJwtSecret } from './accounts/jwt-secret.ts'
import { TokenService } from './accounts/tokens.ts'
import type { Config } from './config.ts'
import type { EventBus } from './events/bus.ts'
import { AccessCache } from './groups/access-cache.ts'
import { GroupService, type GroupRooms } from './groups/group-service.ts'
import { TaggedCache } from './groups/tagged-cache.ts'
import type { GroupResponse } from '../shared/api.ts'
import { InviteService } from './groups/invite-service.ts'
import { MemberService } from './groups/member-service.ts'
import { MessageService } from './groups/message-service.ts'
import { Quotas, type QuotaLimits } from './groups/quotas.ts'
import { effectiveRole } from './groups/roles.ts'
import type { RoomRegistry } from './collab/room/room-registry.ts'
import type { Storage } from './storage/types.ts'

export interface Services {
  tokens: TokenService
  access: AccessCache
  lists: TaggedCache<GroupResponse[]>
  accounts: AccountService
  groups: GroupService
  members: MemberService
  invites: InviteService
  messages: MessageService
  history: HistoryService
}

/** Entries the access cache holds at most (a few hundred bytes each). */
const ACCESS_CACHE_ENTRIES = 100_000
/**
 * While storage cannot answer, a membership last known this long ago still holds (sockets' rooms
 * stay writable, REST chat posts are taken): no membership can change while storage is down, and
 * a change made before it was dropped from the cache by its event, never served stale.
 */
const ACCESS_STALE_IF_STORAGE_DOWN_MS = 5 * 60_000

export async function createAuth(config: Config, storage: Storage): Promise<{ tokens: TokenService; access: AccessCache; lists: TaggedCache<GroupResponse[]> }> {
  const tokens = new TokenService({
    secret: await resolveJwtSecret(config, storage.settings),
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTtlSec: config.accessTokenTtlSec,
    refreshTtlSec: config.refreshTokenTtlSec,
  }, storage.sessions)
  const access = new AccessCache((groupId, userId) => withStorageDeadline((async () => {
    const group = await storage.groups.byId(groupId)
    if (!group) return null
    return { group, role: effectiveRole(group, await storage.members.get(groupId, userId)) }
  })(), config.mongodbTimeoutMs, 'a membership lookup'), { ttlMs: config.accessCacheTtlMs, maxEntries: ACCESS_CACHE_ENTRIES, staleIfErrorMs: ACCESS_STALE_IF_STORAGE_DOWN_MS })
  const lists = new TaggedCache<GroupResponse[]>({ ttlMs: config.accessCacheTtlMs, maxEntries: ACCESS_CACHE_ENTRIES })
  return { tokens, access, lists }
}

export function createServices(deps: {
  storage: Storage
  bus: EventBus
  registry: RoomRegistry
  rooms: GroupRooms
  tokens: TokenService
  access: AccessCache
  lists: TaggedCache<GroupResponse[]>
  limits: QuotaLimits & Pick<Config, 'maxSvgBytes' | 'maxNamedVersionsPerDoc' | 'maxNamedVersionBytesPerDoc' | 'versionWritesPerHour' | 'versionWriteBytesPerHour' | 'historyViewsPerMinute'>
  collab: Pick<CollabCore, 'history' | 'worker'>
}): Services {
  const { storage, bus, access, tokens, lists } = deps
  const quotas = new Quotas(storage, deps.limits)
  return {
    tokens,
    access,
    lists,
    accounts: new AccountService(storage.users, tokens),
    groups: new GroupService({ storage, access, lists, bus, rooms: deps.rooms, quotas }),
    members: new MemberService({ storage, access, bus }),
    invites: new InviteService({ storage, access, bus, quotas }),
    messages: new MessageService({ access, registry: deps.registry, users: storage.users }),
    history: new HistoryService({
      access,
      registry: deps.registry,
      versions: storage.versions,
      edits: storage.edits,
      users: storage.users,
      keeper: deps.collab.history,
      worker: deps.collab.worker,
      maxSvgBytes: deps.limits.maxSvgBytes,
      maxNamedVersions: deps.limits.maxNamedVersionsPerDoc,
      maxNamedVersionBytes: deps.limits.maxNamedVersionBytesPerDoc,
      writeBudget: new VersionWriteBudget({ perHour: deps.limits.versionWritesPerHour, bytesPerHour: deps.limits.versionWriteBytesPerHour }),
      viewBudget: new HistoryViewBudget(deps.limits.historyViewsPerMinute),
    }),
  }
}
