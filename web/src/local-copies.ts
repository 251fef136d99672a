/**
 * What this browser keeps of a user's groups: each document in IndexedDB (`collab:<user>:<room>`,
 * y-indexeddb), and group details and member names in localStorage (`collab.group.*`,
 * `collab.members.*`). Logging out removes all of it, so a shared computer keeps nothing.
 */
const DB_PREFIX = 'collab:'
const KEY_PREFIXES = ['collab.group.', 'collab.members.']

/** Resolves true once everything is gone (false when the browser would not delete a database). */
export async function clearLocalCopies(): Promise<boolean> {
  for (const key of Object.keys(localStorage)) {
    if (KEY_PREFIXES.some((prefix) => key.startsWith(prefix))) localStorage.removeItem(key)
  }
  const names = (await indexedDB.databases().catch(() => [])).map((db) => db.name ?? '').filter((name) => name.startsWith(DB_PREFIX))
  const results = await Promise.all(names.map(deleteDatabase))
  return results.every(Boolean)
}

function deleteDatabase(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name)
    request.onsuccess = () => resolve(true)
    request.onerror = () => resolve(false)
    // Blocked: a connection is still open somewhere (another tab); it completes once that closes.
    request.onblocked = () => undefined
  })
}
