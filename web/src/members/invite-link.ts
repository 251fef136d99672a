/**
 * Invite links: `<origin>/join/<code>`. The join form takes a bare code or a whole link (as
 * pasted from a chat app), so people never have to cut a code out of a URL.
 */
const CODE = /^[A-Za-z0-9_-]{10,64}$/

export function inviteLink(code: string, origin = location.origin): string {
  return `${origin}/join/${code}`
}

/** The invite code in what someone typed or pasted, or null when there is none. */
export function inviteCodeFrom(input: string): string | null {
  const text = input.trim()
  if (CODE.test(text)) return text
  const match = /(?:^|\/)join\/([A-Za-z0-9_-]{10,64})(?:[/?#]|$)/.exec(text)
  return match?.[1] ?? null
}
