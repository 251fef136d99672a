/**
 * The change feed's event types (issue 22). Apart from shared/feed-api.ts so the web app can list
 * them without bundling the TypeBox schemas.
 */
export const EVENT_TYPES = [
  'chat.message.created', 'chat.message.deleted', 'canvas.changed',
  'member.added', 'member.removed', 'member.role_changed',
  'version.created', 'version.restored', 'rollback.done', 'group.deleted',
] as const
export type EventType = (typeof EVENT_TYPES)[number]
