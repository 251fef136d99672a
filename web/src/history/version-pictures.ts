/**
 * Canvas versions as pictures for <img> elements. The SVG needs the bearer token, so it is fetched
 * and shown from an object URL; a version never changes, so each is fetched once and its URL kept
 * until `revokeAll` (when the panel closes).
 */
import type { HistoryApi } from './history-api.ts'

export class VersionPictures {
  private readonly urls = new Map<string, Promise<string>>()
  private readonly history: HistoryApi
  private revoked = false

  constructor(history: HistoryApi) {
    this.history = history
  }

  /** An object URL of the version's picture; rejects with the ApiError (413 when too large). */
  url(versionId: string): Promise<string> {
    const known = this.urls.get(versionId)
    if (known) return known
    const url = this.history.picture(versionId).then((blob) => {
      if (this.revoked) throw new Error('the history panel is closed')
      return URL.createObjectURL(blob)
    })
    this.urls.set(versionId, url)
    // A failure is not kept: the picture is fetched again next time it is shown.
    url.catch(() => { if (this.urls.get(versionId) === url) this.urls.delete(versionId) })
    return url
  }

  revokeAll(): void {
    this.revoked = true
    for (const url of this.urls.values()) url.then((u) => URL.revokeObjectURL(u), () => undefined)
    this.urls.clear()
  }
}
