export interface TypingNotifierOptions {
  /** Tell the server: typing (with a timeout in ms) or stopped. */
  send: (typing: boolean, timeoutMs: number) => void
  /** Stop after this long without a keystroke (ms). */
  idleMs?: number
  /** While typing goes on, repeat `typing: true` this often (ms) so the server's timeout doesn't end it. */
  refreshMs?: number
  /** Timeout given to the server (ms). */
  serverTimeoutMs?: number
  now?: () => number
}

/**
 * Typing notifications for one room's composer, debounced: the first
 * keystroke says "typing" (repeated every `refreshMs` while typing goes on),
 * and "stopped" is said once — after `idleMs` without keystrokes, when the
 * text becomes empty, on send and on blur.
 */
export class TypingNotifier {
  private active = false
  private lastSent = 0
  private idleTimer: ReturnType<typeof setTimeout> | null = null
  private readonly opts: Required<TypingNotifierOptions>

  constructor(opts: TypingNotifierOptions) {
    this.opts = { idleMs: 5000, refreshMs: 20_000, serverTimeoutMs: 30_000, now: () => Date.now(), ...opts }
  }

  get typing(): boolean {
    return this.active
  }

  /** The composer's text changed. */
  input(text: string): void {
    if (!text.trim()) {
      this.stop()
      return
    }
    const now = this.opts.now()
    if (!this.active || now - this.lastSent >= this.opts.refreshMs) {
      this.active = true
      this.lastSent = now
      this.opts.send(true, this.opts.serverTimeoutMs)
    }
    this.clearIdle()
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null
      this.stop()
    }, this.opts.idleMs)
  }

  /** Sent, blurred, emptied or idle: say "stopped" (once). */
  stop(): void {
    this.clearIdle()
    if (!this.active) return
    this.active = false
    this.opts.send(false, 0)
  }

  dispose(): void {
    this.stop()
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer)
    this.idleTimer = null
  }
}
