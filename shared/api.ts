/**
 * REST request and response shapes, as TypeBox schemas (plain JSON Schema objects: no I/O).
 * The server validates with them and serves them as OpenAPI at /docs; clients import the types.
 */
import { Type, type Static } from 'typebox'
import { CHAT_LIMITS } from './chat.ts'
import { GROUP_ID_PATTERN } from './rooms.ts'

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })
const GroupId = Type.String({ pattern: GROUP_ID_PATTERN.source })
const Millis = Type.Integer({ description: 'milliseconds since the epoch' })
/** The latest time a Date can hold (ECMAScript's limit, 8.64e15 ms): a safe integer, as the stores require. */
export const MAX_TIME_MS = 8.64e15
/** A time a client sends: bounded, so nonsense like 1e300 is a 400, not a store's RangeError. */
const TimeArg = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_TIME_MS, description })
export const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('editor'), Type.Literal('viewer')])
export const BaseRoleSchema = Type.Union([Type.Literal('editor'), Type.Literal('viewer')])

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() })

// ---- accounts
/** Surrounding spaces are tolerated (and trimmed by the server). */
export const Email = Type.String({ minLength: 3, maxLength: 254, pattern: '^\\s*[^\\s@]+@[^\\s@]+\\s*$' })
export const Password = Type.String({ minLength: 8, maxLength: 256 })
/**
 * A name people read (a user's, a group's, a version's): something visible, and none of what
 * makes one name pass for another: control characters, lone surrogates, or bidirectional
 * overrides and isolates (which reorder what follows them). Found from outside: names of NUL,
 * of zero-width characters only, or reversed by U+202E were accepted.
 */
export const VISIBLE_NAME_PATTERN = '^(?=[\\s\\S]*[\\p{L}\\p{N}\\p{P}\\p{S}])[^\\p{Cc}\\p{Cs}\\u202A-\\u202E\\u2066-\\u2069]*$'
export const DisplayName = Type.String({ minLength: 1, maxLength: CHAT_LIMITS.maxNameLength, pattern: VISIBLE_NAME_PATTERN })

export const RegisterBody = Type.Object({ email: Email, password: Password, name: DisplayName }, { additionalProperties: false })
export const LoginBody = Type.Object({ email: Email, password: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false })
export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const UserView = Type.Object({ id: Id, email: Type.String(), name: Type.String(), createdAt: Millis })
export const TokensView = Type.Object({ accessToken: Type.String(), refreshToken: Type.String(), expiresIn: Type.Integer() })
export const SessionView = Type.Object({ user: UserView, accessToken: Type.String(), refreshToken: Type.String(), expiresIn: Type.Integer() })
export const MeView = Type.Object({ user: UserView })

// ---- groups
export const GroupName = Type.String({ minLength: 1, maxLength: 100, pattern: VISIBLE_NAME_PATTERN })
export const GroupDescription = Type.String({ maxLength: 1000 })
export const GroupParams = Type.Object({ id: GroupId })
export const CreateGroupBody = Type.Object({ name: GroupName, description: Type.Optional(GroupDescription) }, { additionalProperties: false })
export const UpdateGroupBody = Type.Object({ name: Type.Optional(GroupName), description: Type.Optional(GroupDescription) }, { additionalProperties: false, minProperties: 1 })

export const GroupView = Type.Object({
  id: GroupId,
  name: Type.String(),
  description: Type.String(),
  ownerId: Id,
  role: RoleSchema,
  memberCount: Type.Integer(),
  createdAt: Millis,
  rooms: Type.Object({ canvas: Type.String(), chat: Type.String() }),
})
export const GroupListView = Type.Object({ groups: Type.Array(GroupView) })

// ---- members
export const MemberParams = Type.Object({ id: GroupId, userId: Id })
export const MemberView = Type.Object({ userId: Id, name: Type.String(), role: RoleSchema, joinedAt: Millis })
export const MemberListView = Type.Object({ members: Type.Array(MemberView) })
export const SetRoleBody = Type.Object({ role: BaseRoleSchema }, { additionalProperties: false })
export const TransferBody = Type.Object({ userId: Id }, { additionalProperties: false })

// ---- invites
export const InviteParams = Type.Object({ code: Type.String({ minLength: 10, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) })
export const GroupInviteParams = Type.Object({ id: GroupId, code: Type.String({ minLength: 10, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) })
export const CreateInviteBody = Type.Object({
  role: Type.Optional(BaseRoleSchema),
  expiresInSec: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400 })),
  maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
}, { additionalProperties: false })
export const InviteView = Type.Object({
  code: Type.String(),
  groupId: GroupId,
  role: BaseRoleSchema,
  createdAt: Millis,
  expiresAt: Millis,
  maxUses: Type.Integer(),
  uses: Type.Integer(),
})
export const InviteListView = Type.Object({ invites: Type.Array(InviteView) })
export const AcceptedInviteView = Type.Object({ group: GroupView })

// ---- messages
export const MessagesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: CHAT_LIMITS.maxPage })),
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
}, { additionalProperties: false })
export const PostMessageBody = Type.Object({
  text: Type.String({ minLength: 1, maxLength: CHAT_LIMITS.maxTextLength, pattern: '\\S' }),
  id: Type.Optional(Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'client-chosen id; posting the same id twice is idempotent' })),
}, { additionalProperties: false })
export const MessageView = Type.Object({ id: Type.String(), author: Type.String(), authorName: Type.String(), text: Type.String(), time: Type.Number() })
export const MessagePageView = Type.Object({ messages: Type.Array(MessageView), nextBefore: Type.Union([Type.String(), Type.Null()]) })
export const PostedMessageView = Type.Object({ message: MessageView })

// ---- history
export const DocKind = Type.Union([Type.Literal('canvas'), Type.Literal('chat')])
export const VersionParams = Type.Object({ id: GroupId, versionId: Id })
export const VersionsQuery = Type.Object({
  doc: DocKind,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  before: Type.Optional(TimeArg('createdAt of the last version of the previous page')),
}, { additionalProperties: false })
export const NameVersionBody = Type.Object({ doc: DocKind, name: Type.String({ minLength: 1, maxLength: 100, pattern: VISIBLE_NAME_PATTERN }) }, { additionalProperties: false })
export const DiffQuery = Type.Object({ to: Type.Union([Type.Literal('current'), Id]) }, { additionalProperties: false })
export const RollbackBody = Type.Object({
  doc: DocKind,
  userId: Id,
  since: TimeArg('undo what the user changed from this time on (ms since the epoch)'),
}, { additionalProperties: false })
export const AuthorView = Type.Object({ userId: Type.String(), name: Type.String() })
export const VersionMadeView = Type.Object({
  by: AuthorView,
  kind: Type.Union([Type.Literal('named'), Type.Literal('restore'), Type.Literal('rollback')], { description: 'named: named by `by`; restore, rollback: the state kept just before `by` ran one (restore it to undo that)' }),
  restored: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() }, { description: 'restore: the version restored' })),
  user: Type.Optional(AuthorView),
  since: Type.Optional(Millis),
}, { description: 'rollback: whose changes since when' })
export const VersionView = Type.Object({
  id: Type.String(),
  doc: DocKind,
  createdAt: Millis,
  name: Type.Union([Type.String(), Type.Null()]),
  authors: Type.Array(AuthorView, { description: 'users whose edits it holds since the previous version' }),
  bytes: Type.Integer(),
  made: Type.Union([VersionMadeView, Type.Null()], { description: 'who made it and how; null for automatic versions' }),
})
export const VersionListView = Type.Object({ versions: Type.Array(VersionView), nextBefore: Type.Union([Type.Integer(), Type.Null()]) })
export const CreatedVersionView = Type.Object({ version: VersionView })
const StrokeChange = Type.Object({ id: Type.String(), author: Type.String(), color: Type.String(), points: Type.Integer() })
const MessageChange = Type.Object({ id: Type.String(), author: Type.String(), text: Type.String(), time: Type.Number() })
export const DiffView = Type.Object({
  strokes: Type.Object({ added: Type.Array(StrokeChange), removed: Type.Array(StrokeChange), changed: Type.Array(StrokeChange) }),
  messages: Type.Object({ added: Type.Array(MessageChange), removed: Type.Array(MessageChange) }),
})
const Touched = Type.Array(Type.Object({ kind: Type.Union([Type.Literal('stroke'), Type.Literal('message')]), id: Type.String() }))
const Planned = Type.Array(Type.Object({ kind: Type.Union([Type.Literal('stroke'), Type.Literal('message')]), id: Type.String(), author: Type.String() }))
export const RestoredView = Type.Object({ preRestore: VersionView })
export const RollbackView = Type.Object({ removed: Touched, restored: Touched, before: VersionView })
export const RollbackPlanView = Type.Object({ removed: Planned, restored: Planned })
export const ActivityQuery = Type.Object({ after: TimeArg('only what happened after this time (ms)') }, { additionalProperties: false })
export const ActivityView = Type.Object({
  role: RoleSchema,
  now: Type.Integer({ description: "the server's time: ask for what happened after it next" }),
  notices: Type.Array(VersionView, { description: 'restores and rollbacks since `after`, as the versions kept before them (oldest first)' }),
})

export type RegisterRequest = Static<typeof RegisterBody>
export type LoginRequest = Static<typeof LoginBody>
export type SessionResponse = Static<typeof SessionView>
export type GroupResponse = Static<typeof GroupView>
export type MemberResponse = Static<typeof MemberView>
export type InviteResponse = Static<typeof InviteView>
export type MessagePageResponse = Static<typeof MessagePageView>
export type VersionResponse = Static<typeof VersionView>
export type VersionListResponse = Static<typeof VersionListView>
export type DiffResponse = Static<typeof DiffView>
export type RollbackResponse = Static<typeof RollbackView>
export type RollbackPlanResponse = Static<typeof RollbackPlanView>
export type ActivityResponse = Static<typeof ActivityView>
export type ApiError = Static<typeof ErrorBody>
