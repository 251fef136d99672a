/**
 * Key parts for the embedded history stores. A room's keys share the prefix `<room>!`, so its
 * records are one range scan; `!` is escaped inside room names so that no room's range can hold
 * another's (a room `a!1` must not fall inside the range of room `a`). Times are zero-padded to
 * the width of the largest safe integer, so string order is numeric order.
 */
const TIME_DIGITS = String(Number.MAX_SAFE_INTEGER).length

export function roomPrefix(room: string): string {
  return `${room.replaceAll('%', '%25').replaceAll('!', '%21')}!`
}

/** `time` must be a non-negative safe integer (history-checks.ts). */
export function sortableTime(time: number): string {
  return String(time).padStart(TIME_DIGITS, '0')
}
