/**
 * Room naming. Every collaborative document belongs to a group: `<groupId>/canvas` or
 * `<groupId>/chat`. The WebSocket URL is `/collab/<room>`, which is what
 * `new WebsocketProvider(`${origin}/collab`, room, doc)` produces.
 */
export const ROOM_KINDS = ['canvas', 'chat'] as const
export type RoomKind = (typeof ROOM_KINDS)[number]

/** Group ids are opaque url-safe strings (we issue 22-char base64url ids). */
export const GROUP_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/

const ROOM_PATTERN = /^([A-Za-z0-9_-]{8,64})\/(canvas|chat)$/

export interface RoomRef {
  groupId: string
  kind: RoomKind
}

export function roomName(groupId: string, kind: RoomKind): string {
  if (!GROUP_ID_PATTERN.test(groupId)) throw new Error(`invalid group id: ${groupId}`)
  return `${groupId}/${kind}`
}

/** Parses a room name; `null` for anything that is not exactly `<groupId>/<kind>`. */
export function parseRoomName(name: string): RoomRef | null {
  const match = ROOM_PATTERN.exec(name)
  if (!match) return null
  return { groupId: match[1] as string, kind: match[2] as RoomKind }
}

export function isGroupId(value: string): boolean {
  return GROUP_ID_PATTERN.test(value)
}
