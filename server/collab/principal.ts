/** Who is on a socket, and what they may do in the room. */
export const ROLES = ['owner', 'editor', 'viewer'] as const
export type Role = (typeof ROLES)[number]

export interface Principal {
  userId: string
  name: string
  role: Role
}

export function canWrite(role: Role): boolean {
  return role !== 'viewer'
}
