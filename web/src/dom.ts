/** A tiny element builder: text always goes in as text nodes, never as HTML. */
type Attributes = Record<string, string | number | boolean | undefined>
type Child = Node | string | null | undefined | false

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  append(element, ...children)
  return element
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
}

/** Something on screen that holds listeners or connections until it is disposed. */
export interface View {
  element: HTMLElement
  dispose(): void
}

/** Collects cleanups so a view can undo everything it set up in one call. */
export class Disposer {
  private readonly cleanups: Array<() => void> = []

  add(cleanup: () => void): void {
    this.cleanups.push(cleanup)
  }

  listen<E extends Event>(target: EventTarget, type: string, listener: (event: E) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, listener as EventListener, options)
    this.add(() => target.removeEventListener(type, listener as EventListener, options))
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup()
  }
}

/** Runs `render` once per animation frame at most, however often it is asked for. */
export function frameScheduler(render: () => void): { schedule(): void; cancel(): void } {
  let frame = 0
  return {
    schedule: () => {
      if (frame === 0) frame = requestAnimationFrame(() => {
        frame = 0
        render()
      })
    },
    cancel: () => {
      if (frame !== 0) cancelAnimationFrame(frame)
      frame = 0
    },
  }
}
