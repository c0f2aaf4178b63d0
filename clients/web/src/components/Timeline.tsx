import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ButtonHTMLAttributes, type Ref } from 'react'
import type { MatrixEvent } from '../api/types'
import { hasRead, placeReceipts } from '../state/ephemeral'
import { stripReplyFallback } from '../state/compose'
import { memberName, str } from '../state/events'
import { remoteServer } from '../state/servers'
import { mentionsMe } from '../state/mentions'
import { formatDay, formatTime } from '../state/format'
import { firstUnread, groupTimeline, type DisplayMessage } from '../state/grouping'
import type { ReactionSummary } from '../state/relations'
import type { LocalEcho, Receipt, StateMap } from '../state/types'
import {
  anchorAt,
  anchoredTop,
  rangeCovers,
  rowOffsets,
  rowsBetween,
  rowSizeKey,
  timelineRows,
  UNREAD_ROW_KEY,
  windowKeys,
  windowRange,
  type RowRange,
  type ScrollAnchor,
  type TimelineRow,
} from '../state/virtual'
import { Avatar } from './Avatar'
import { MediaBody } from './MediaBody'
import { memberAvatar } from '../state/avatars'
import { isMediaMsgtype } from '../state/media'
import { EmojiPicker } from './EmojiPicker'
import { FormattedBody } from './FormattedBody'
import { PencilIcon, ReplyIcon, SmileIcon, TrashIcon } from './icons'
import { LinkifiedText } from './MessageBody'
import { Spinner } from './ui'

const LOAD_THRESHOLD_PX = 400
const BOTTOM_SLACK_PX = 80
/** About the emoji picker's height: closer than this to the top, it opens downwards. */
const PICKER_HEIGHT_PX = 190
/** On touch screens a message's actions float above it, unless it is closer than this to the top. */
const ACTIONS_HEIGHT_PX = 44
/** Rows are rendered this far (px) beyond the viewport's edges... */
const OVERSCAN_PX = 800
/** ...and rendered anew once less than this is left beyond an edge. */
const MIN_OVERSCAN_PX = 300
/** Rendered first, before anything is measured (the newest ones). */
const INITIAL_ROWS = 40

export interface TimelineProps {
  roomId: string
  events: MatrixEvent[]
  echoes: LocalEcho[]
  state: StateMap
  userId: string
  hasMore: boolean
  loadOlder: () => Promise<void>
  onRetry: (txnId: string) => void
  onDiscard: (txnId: string) => void
  /** Deletes one of the user's own sent messages (for everyone). */
  onDelete?: (eventId: string) => void
  /** Starts a reply to a message. */
  onReply?: (message: DisplayMessage) => void
  /** Starts editing one of my messages. */
  onEdit?: (message: DisplayMessage) => void
  /** Adds my reaction `key` to a message, or takes back my reaction (its event id). */
  onReact?: (eventId: string, key: string, mine?: string) => void
  /** My read receipt when the room was opened: a "New messages" line goes below it. */
  readMarker?: string
  /** Called when the newest message is visible (the room counts as read). */
  onSeenLatest: () => void
  /** Read receipts of the members (user id → receipt). */
  receipts: Record<string, Receipt>
  /** In a DM: the other person ("Seen" under our last message once they read it). */
  dmPartner?: string
  /** A message to scroll to and highlight (a search result); a new `nonce` jumps again. */
  focusEvent?: { eventId: string; nonce: number }
  /** Loads history until the event is in `events` (false: it can't be reached). */
  revealEvent?: (eventId: string) => Promise<boolean>
}

/** Read markers of one message: who read up to it, or (DM) whether it was seen. */
interface ReadInfo {
  readers?: string[]
  seen?: boolean
}

/** The rendered window, by its first and last rows' keys (indices shift as history is prepended). */
interface KeyRange {
  first: string
  last: string
}

/**
 * The scrolling message list, virtualized: only the rows in and near the
 * viewport are in the DOM, the others are stood in for by the list's
 * padding, from their measured heights (estimated until they have been
 * rendered once). What the user sees is held in place by a scroll anchor
 * (a row and the offset into it) as older history loads above or rows
 * change height; new messages keep the view at the bottom only if it was
 * there, otherwise a "Jump to latest" button appears. Jumps (a reply's
 * original, a search result, the first unread) move the anchor to their
 * row, which is rendered there.
 */
export function Timeline(props: TimelineProps) {
  const { events, echoes, state, userId, hasMore, loadOlder, onSeenLatest, receipts, dmPartner } = props
  const items = useMemo(() => groupTimeline(events, echoes, state, userId), [events, echoes, state, userId])

  // Where each member's read marker goes; in a DM only "Seen" under our last message.
  const readInfo = useMemo(() => {
    const info = new Map<string, ReadInfo>()
    const shown = new Set<string>()
    let myLast: string | undefined
    for (const item of items) {
      if (item.kind !== 'group') continue
      for (const m of item.messages) {
        if (m.status !== 'remote' || !m.eventId) continue
        shown.add(m.eventId)
        if (m.sender === userId) myLast = m.eventId
      }
    }
    if (dmPartner) {
      if (myLast && hasRead(events, receipts, dmPartner, myLast)) info.set(myLast, { seen: true })
    } else {
      for (const [eventId, readers] of placeReceipts(events, shown, receipts, userId)) info.set(eventId, { readers })
    }
    return info
  }, [items, events, receipts, userId, dmPartner])

  // The first message after my read marker from someone else: the "New messages" line goes above it.
  const unreadAfter = useMemo(() => firstUnread(items, props.readMarker, userId, events), [items, props.readMarker, userId, events])
  const [showUnreadJump, setShowUnreadJump] = useState(true)

  const rows = useMemo(() => timelineRows(items, unreadAfter), [items, unreadAfter])
  const indexOf = useMemo(() => new Map(rows.map((r, i) => [r.key, i])), [rows])
  const eventRow = useMemo(() => {
    const map = new Map<string, number>()
    rows.forEach((r, i) => {
      if (r.kind === 'message' && r.message.eventId) map.set(r.message.eventId, i)
    })
    return map
  }, [rows])
  // Replies quote their original: the messages by event id.
  const originals = useMemo(() => {
    const map = new Map<string, DisplayMessage>()
    for (const r of rows) if (r.kind === 'message' && r.message.eventId) map.set(r.message.eventId, r.message)
    return map
  }, [rows])

  // Screen readers are told of a new message from someone else as it arrives.
  const [announcement, setAnnouncement] = useState('')
  // The newest message's key ('' for none), null until the room's first render: what it opens with is not news.
  const newestKey = useRef<string | null>(null)
  useEffect(() => {
    let newest: TimelineRow | undefined
    for (let i = rows.length - 1; i >= 0 && !newest; i--) if (rows[i].kind === 'message') newest = rows[i]
    const previous = newestKey.current
    newestKey.current = newest?.key ?? ''
    if (newest?.kind !== 'message' || previous === null || previous === newest.key) return
    const m = newest.message
    if (m.sender === userId || m.status !== 'remote') return
    const text = m.redacted ? 'Message deleted' : stripReplyFallback(str(m.content.body) ?? '')
    setAnnouncement(`${memberName(state, m.sender)}: ${text}`)
  }, [rows, userId, state])

  // Heights of the rows rendered so far (by rowSizeKey); a new measurement bumps `measured`.
  const heights = useRef(new Map<string, number>())
  const [measured, setMeasured] = useState(0)
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `measured` says the heights changed
  const offsets = useMemo(() => rowOffsets(rows, heights.current), [rows, measured])
  const [window_, setWindow] = useState<KeyRange | null>(null)
  const [, setTick] = useState(0)
  const rerender = useCallback(() => setTick((t) => t + 1), [])

  const n = rows.length
  const range: RowRange = (window_ && windowRange(rows, indexOf, window_)) ?? { start: Math.max(0, n - INITIAL_ROWS), end: n }

  const scrollRef = useRef<HTMLDivElement>(null)
  const listRef = useRef<HTMLOListElement>(null)
  const atBottom = useRef(true)
  const anchor = useRef<ScrollAnchor | null>(null)
  // A message to focus once it is rendered where it was scrolled to.
  const pendingFocus = useRef<string | null>(null)
  const [highlighted, setHighlighted] = useState<string | null>(null)
  // "Jump to latest": shown while the view is away from the bottom.
  const [showJump, setShowJump] = useState(false)

  /** Scrolls to a row: `align` 'center' (a message jumped to) or 'start'. */
  const scrollToRow = useCallback(
    (index: number, align: 'center' | 'start') => {
      const el = scrollRef.current
      const row = rows[index]
      if (!el || !row) return
      atBottom.current = false
      // Said again by the scroll that follows when the row is at the bottom after all.
      setShowJump(true)
      const height = offsets[index + 1] - offsets[index]
      anchor.current = { key: row.key, delta: align === 'center' ? height / 2 - el.clientHeight / 2 : -8 }
      rerender()
    },
    [rows, offsets, rerender],
  )

  const jumpTo = useCallback(
    (eventId: string) => {
      const index = eventRow.get(eventId)
      if (index === undefined) return false
      scrollToRow(index, 'center')
      pendingFocus.current = eventId
      setHighlighted(eventId)
      setTimeout(() => setHighlighted((h) => (h === eventId ? null : h)), 2000)
      return true
    },
    [eventRow, scrollToRow],
  )

  // A jump asked for from outside (search): done once the message is loaded,
  // after older history was loaded when it had to be.
  const pendingJump = useRef<string | null>(null)
  const [revealState, setRevealState] = useState<'loading' | 'missing' | null>(null)
  const { focusEvent, revealEvent } = props
  useEffect(() => {
    if (revealState !== 'missing') return
    const t = setTimeout(() => setRevealState(null), 4000)
    return () => clearTimeout(t)
  }, [revealState])
  useEffect(() => {
    if (!focusEvent) return
    const { eventId } = focusEvent
    atBottom.current = false
    if (jumpTo(eventId)) return
    pendingJump.current = eventId
    if (!revealEvent) return
    let live = true
    setRevealState('loading')
    revealEvent(eventId)
      .then((found) => live && setRevealState(found ? null : 'missing'))
      .catch(() => live && setRevealState('missing'))
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a new request jumps, not a re-render
  }, [focusEvent, revealEvent])
  useEffect(() => {
    const pending = pendingJump.current
    if (pending && jumpTo(pending)) pendingJump.current = null
  }, [jumpTo])

  // The row callbacks stay the same objects across renders (rows are memoized).
  const latest = useRef(props)
  latest.current = props
  const actions: RowActions = useMemo(
    () => ({
      onRetry: (txnId) => latest.current.onRetry(txnId),
      onDiscard: (txnId) => latest.current.onDiscard(txnId),
      onDelete: props.onDelete && ((eventId) => latest.current.onDelete?.(eventId)),
      onReply: props.onReply && ((m) => latest.current.onReply?.(m)),
      onEdit: props.onEdit && ((m) => latest.current.onEdit?.(m)),
      onReact: props.onReact && ((eventId, key, mine) => latest.current.onReact?.(eventId, key, mine)),
      jumpTo: (eventId) => jumpToRef.current(eventId),
    }),
    // Whether each action is offered at all is what counts here.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [!props.onDelete, !props.onReply, !props.onEdit, !props.onReact],
  )
  const jumpToRef = useRef(jumpTo)
  jumpToRef.current = jumpTo

  function jumpToUnread() {
    setShowUnreadJump(false)
    const index = indexOf.get(UNREAD_ROW_KEY)
    if (index !== undefined) scrollToRow(index, 'start')
  }
  const [loading, setLoading] = useState(false)
  const [loadError, setLoadError] = useState(false)
  const loadingRef = useRef(false)

  const requestOlder = useCallback(() => {
    if (loadingRef.current || !hasMore) return
    loadingRef.current = true
    setLoading(true)
    setLoadError(false)
    loadOlder()
      .catch(() => setLoadError(true))
      .finally(() => {
        loadingRef.current = false
        setLoading(false)
      })
  }, [hasMore, loadOlder])

  /** The viewport in the list's coordinates. */
  const viewport = () => {
    const el = scrollRef.current!
    const list = listRef.current!
    return { top: el.scrollTop - list.offsetTop, height: el.clientHeight }
  }

  // Row heights that change without a render (a summary opened, an image
  // decoded, the window resized) are measured again.
  const resizeObserver = useRef<ResizeObserver | null>(null)
  const observed = useRef(new Set<Element>())
  useEffect(() => {
    if (typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver((entries) => {
      for (const entry of entries) {
        // The viewport itself (a phone's keyboard, a resized window): placed and windowed again.
        if (entry.target === scrollRef.current) {
          rerender()
          return
        }
        const key = (entry.target as HTMLElement).dataset.sizeKey
        if (key && Math.abs((heights.current.get(key) ?? -1) - entry.target.getBoundingClientRect().height) > 0.5) {
          rerender()
          return
        }
      }
    })
    const seen = observed.current
    resizeObserver.current = ro
    if (scrollRef.current) ro.observe(scrollRef.current)
    return () => {
      ro.disconnect()
      seen.clear()
      resizeObserver.current = null
    }
  }, [rerender])

  // After every render: measure the rendered rows; with the heights known,
  // put the view back where it belongs (the bottom, or the anchor); then
  // make sure the rows around the viewport are the rendered ones. Each step
  // that changes something renders again (before the browser paints).
  // oxlint-disable-next-line react-hooks/exhaustive-deps -- runs after every render on purpose (it ends the loop)
  useLayoutEffect(() => {
    const el = scrollRef.current
    const list = listRef.current
    if (!el || !list) return
    let changed = false
    for (const child of Array.from(list.children)) {
      const key = (child as HTMLElement).dataset.sizeKey
      if (!key) continue
      const h = child.getBoundingClientRect().height
      if (Math.abs((heights.current.get(key) ?? -1) - h) > 0.5) {
        heights.current.set(key, h)
        changed = true
      }
    }
    if (changed) {
      setMeasured((m) => m + 1)
      return
    }

    if (atBottom.current) {
      const bottom = el.scrollHeight - el.clientHeight
      if (Math.abs(el.scrollTop - bottom) >= 1) el.scrollTop = bottom
    } else if (anchor.current) {
      const top = anchoredTop(anchor.current, indexOf, offsets)
      if (top !== null) {
        const target = Math.max(0, top + list.offsetTop)
        if (Math.abs(el.scrollTop - target) >= 1) el.scrollTop = target
      }
    }

    const view = viewport()
    if (!rangeCovers(range, offsets, view.top, view.height, MIN_OVERSCAN_PX)) {
      const want = rowsBetween(offsets, view.top - OVERSCAN_PX, view.top + view.height + OVERSCAN_PX)
      const keys = windowKeys(rows, want)
      if (keys && (keys.first !== window_?.first || keys.last !== window_?.last)) {
        setWindow(keys)
        return
      }
    }

    // Settled: this is where the user is.
    if (!atBottom.current) anchor.current = anchorAt(rows, offsets, view.top, { range, height: view.height })
    const ro = resizeObserver.current
    if (ro) {
      for (const e of observed.current) {
        if (!e.isConnected) {
          ro.unobserve(e)
          observed.current.delete(e)
        }
      }
      for (const child of Array.from(list.children)) {
        if (!observed.current.has(child)) {
          observed.current.add(child)
          ro.observe(child)
        }
      }
    }
    const focus = pendingFocus.current
    if (focus) {
      const target = list.querySelector<HTMLElement>(`[data-event-id="${CSS.escape(focus)}"]`)
      if (target) {
        pendingFocus.current = null
        target.focus({ preventScroll: true })
      }
    }
    // Not enough content to scroll: fetch more so the user can scroll at all.
    if (hasMore && el.scrollHeight <= el.clientHeight + LOAD_THRESHOLD_PX / 4) requestOlder()
  })

  useEffect(() => {
    if (atBottom.current && document.visibilityState !== 'hidden') onSeenLatest()
  }, [items, onSeenLatest])

  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible' && atBottom.current) onSeenLatest()
    }
    document.addEventListener('visibilitychange', onVisible)
    return () => document.removeEventListener('visibilitychange', onVisible)
  }, [onSeenLatest])

  function onScroll() {
    const el = scrollRef.current
    if (!el || !listRef.current) return
    const view = viewport()
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX
    if (bottom !== atBottom.current) {
      atBottom.current = bottom
      setShowJump(!bottom)
      if (bottom) onSeenLatest()
    }
    anchor.current = bottom ? null : anchorAt(rows, offsets, view.top, { range, height: view.height })
    if (!rangeCovers(range, offsets, view.top, view.height, MIN_OVERSCAN_PX)) rerender()
    if (el.scrollTop < LOAD_THRESHOLD_PX) requestOlder()
  }

  function jumpToLatest() {
    atBottom.current = true
    anchor.current = null
    setShowJump(false)
    rerender()
    onSeenLatest()
  }

  const visible = rows.slice(range.start, range.end)
  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={scrollRef}
        onScroll={onScroll}
        role="log"
        // Not live: rows enter the DOM as the user scrolls, and they are not
        // news. New messages are announced by the region below instead.
        aria-live="off"
        aria-label="Messages"
        tabIndex={0}
        className="relative h-full overflow-y-auto px-3 py-2 [overflow-anchor:none] focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 sm:px-5"
      >
        <div className="flex h-10 items-center justify-center">
          {loading ? (
            <Spinner label="Loading older messages…" />
          ) : loadError ? (
            <button
              type="button"
              onClick={requestOlder}
              className="text-sm text-indigo-700 underline dark:text-indigo-300"
            >
              Couldn't load older messages. Try again
            </button>
          ) : !hasMore ? (
            <p className="text-xs text-gray-500 dark:text-gray-400">This is the beginning of the conversation.</p>
          ) : null}
        </div>
        <ol
          ref={listRef}
          className="flex flex-col"
          style={{ paddingTop: offsets[range.start], paddingBottom: offsets[n] - offsets[range.end] }}
          data-testid="timeline-rows"
          data-rendered={visible.length}
          data-total={n}
        >
          {visible.map((row, i) => (
            <TimelineRowView
              key={row.key}
              row={row}
              position={range.start + i + 1}
              setSize={hasMore ? -1 : n}
              state={state}
              userId={userId}
              actions={actions}
              read={row.kind === 'message' && row.message.eventId && row.message.status === 'remote' ? readInfo.get(row.message.eventId) : undefined}
              original={row.kind === 'message' && row.message.replyTo ? (originals.get(row.message.replyTo) ?? null) : undefined}
              highlighted={row.kind === 'message' && highlighted !== null && highlighted === row.message.eventId}
            />
          ))}
        </ol>
      </div>
      <div className="sr-only" aria-live="polite" data-testid="new-message-announcer">
        {announcement}
      </div>
      {revealState && (
        <p
          role="status"
          className="absolute top-2 left-1/2 -translate-x-1/2 rounded-full bg-white px-3 py-1 text-xs whitespace-nowrap text-gray-800 shadow dark:bg-gray-800 dark:text-gray-100"
        >
          {revealState === 'loading' ? 'Loading the message…' : "Couldn't find that message in this room's history."}
        </p>
      )}
      {unreadAfter && showUnreadJump && !revealState && (
        <button
          type="button"
          onClick={jumpToUnread}
          className="absolute top-2 left-1/2 -translate-x-1/2 rounded-full bg-indigo-600 px-3 py-1 text-xs font-medium whitespace-nowrap text-white shadow hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:bg-indigo-500"
        >
          Jump to first unread ↑
        </button>
      )}
      {showJump && (
        <button
          type="button"
          onClick={jumpToLatest}
          className="absolute right-4 bottom-4 rounded-full bg-indigo-600 px-4 py-2 text-sm font-medium text-white shadow-lg hover:bg-indigo-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:bg-indigo-500"
        >
          Jump to latest ↓
        </button>
      )}
    </div>
  )
}

interface RowActions {
  onRetry: (txnId: string) => void
  onDiscard: (txnId: string) => void
  onDelete?: (eventId: string) => void
  onReply?: (message: DisplayMessage) => void
  onEdit?: (message: DisplayMessage) => void
  onReact?: (eventId: string, key: string, mine?: string) => void
  jumpTo: (eventId: string) => boolean
}

interface RowProps {
  row: TimelineRow
  /** Place in the whole timeline (1-based) and its length (-1: more history to load). */
  position: number
  setSize: number
  state: StateMap
  userId: string
  actions: RowActions
  read?: ReadInfo
  /** For a reply: the message replied to (null: not loaded). */
  original?: DisplayMessage | null
  /** The message just jumped to (briefly highlighted). */
  highlighted: boolean
}

const TimelineRowView = memo(function TimelineRowView({ row, position, setSize, ...rest }: RowProps) {
  const common = { 'data-size-key': rowSizeKey(row), 'aria-posinset': position, 'aria-setsize': setSize }
  if (row.kind === 'day') {
    return (
      <li {...common} className="flex items-center gap-3 py-3" aria-label={formatDay(row.ts)}>
        <span className="h-px flex-1 bg-gray-200 dark:bg-gray-800" aria-hidden="true" />
        <span className="text-xs font-medium text-gray-600 dark:text-gray-400">{formatDay(row.ts)}</span>
        <span className="h-px flex-1 bg-gray-200 dark:bg-gray-800" aria-hidden="true" />
      </li>
    )
  }
  if (row.kind === 'unread') {
    return (
      <li {...common} className="flex items-center gap-2 py-2" data-testid="unread-marker" aria-label="New messages">
        <span className="h-px flex-1 bg-red-500" aria-hidden="true" />
        <span className="text-xs font-semibold text-red-700 dark:text-red-300">New messages</span>
        <span className="h-px flex-1 bg-red-500" aria-hidden="true" />
      </li>
    )
  }
  if (row.kind === 'notice') {
    const item = row.notice
    const time = <time dateTime={new Date(item.ts).toISOString()}>{formatTime(item.ts)}</time>
    if (item.details) {
      return (
        <li {...common} className="py-1 text-center text-xs text-gray-600 dark:text-gray-400" data-testid="state-summary">
          <details className="inline-block text-left">
            <summary className="cursor-pointer rounded px-1 text-center hover:text-gray-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:text-gray-200">
              <span>{item.text}</span> {time}
            </summary>
            <ul className="mt-1 list-disc pl-8">
              {item.details.map((d, i) => (
                <li key={i}>{d}</li>
              ))}
            </ul>
          </details>
        </li>
      )
    }
    return (
      <li {...common} className="py-1 text-center text-xs text-gray-600 dark:text-gray-400">
        <span>{item.text}</span> {time}
      </li>
    )
  }
  return <MessageLine {...rest} common={common} message={row.message} first={row.first} />
})

function MessageLine({
  common,
  message,
  first,
  actions,
  userId,
  read,
  state,
  original,
  highlighted,
}: Omit<RowProps, 'row' | 'position' | 'setSize'> & {
  common: Record<string, string | number>
  message: DisplayMessage
  /** The first of its sender's run: their name and picture are shown. */
  first: boolean
}) {
  const own = message.sender === userId
  const senderName = own ? 'You' : memberName(state, message.sender)
  const showTime = !first
  const [actionsBelow, setActionsBelow] = useState(false)
  const [picking, setPicking] = useState(false)
  const [pickBelow, setPickBelow] = useState(false)
  const pickButton = useRef<HTMLButtonElement>(null)
  const body = str(message.content.body)
  const msgtype = str(message.content.msgtype)
  const html = message.content.format === 'org.matrix.custom.html' ? str(message.content.formatted_body) : undefined
  const mentionRender = { me: userId, nameOf: (u: string) => memberName(state, u) }
  const text = message.replyTo && body ? stripReplyFallback(body) : body
  let content
  if (message.type === 'm.room.encrypted') {
    content = <em className="text-gray-500 dark:text-gray-400">Encrypted message</em>
  } else if (message.redacted || body === undefined || body === '') {
    content = <em className="text-gray-500 dark:text-gray-400">Message deleted</em>
  } else if (msgtype === 'm.emote') {
    content = (
      <>
        * {senderName} {html ? <FormattedBody html={html} mentions={mentionRender} /> : <LinkifiedText text={text ?? ''} />}
      </>
    )
  } else if (isMediaMsgtype(msgtype)) {
    content = <MediaBody content={message.content} />
  } else if (html) {
    content = <FormattedBody html={html} mentions={mentionRender} />
  } else {
    content = <LinkifiedText text={text ?? ''} />
  }
  const live = message.status === 'remote' && message.eventId !== undefined && !message.redacted
  const forMe = live && !own && mentionsMe(message.content, userId, memberName(state, userId))
  const canEdit = own && live && (msgtype === 'm.text' || msgtype === 'm.emote' || msgtype === 'm.notice')
  const closePicker = useCallback(() => {
    setPicking(false)
    pickButton.current?.focus()
  }, [])

  return (
    <li
      {...common}
      className={`group relative flex gap-3 ${first ? 'pt-3' : 'pt-0.5'}`}
      data-status={message.status}
      data-event-id={message.eventId}
      data-mentions-me={forMe ? 'true' : undefined}
      data-highlighted={highlighted ? 'true' : undefined}
      tabIndex={-1}
      onFocus={(e) => {
        // On touch screens the actions float above the message, or below it at the top of the view.
        const log = e.currentTarget.closest('[role="log"]')
        const top = e.currentTarget.getBoundingClientRect().top - (log?.getBoundingClientRect().top ?? 0)
        setActionsBelow(top < ACTIONS_HEIGHT_PX)
      }}
    >
      {first ? (
        <Avatar id={message.sender} name={memberName(state, message.sender)} size="sm" mxc={memberAvatar(state, message.sender)} />
      ) : (
        <span className="w-8 shrink-0" aria-hidden="true" />
      )}
      <div className="min-w-0 flex-1">
        {first && (
          <p className="flex items-baseline gap-2">
            <span className="text-sm font-semibold text-gray-900 dark:text-gray-100" title={message.sender}>
              {senderName}
            </span>
            {remoteServer(message.sender, userId) && (
              <span className="truncate text-xs text-gray-600 dark:text-gray-400" data-testid="sender-server">
                {remoteServer(message.sender, userId)}
              </span>
            )}
            <time className="text-xs text-gray-600 dark:text-gray-400" dateTime={new Date(message.ts).toISOString()}>
              {formatTime(message.ts)}
            </time>
          </p>
        )}
      <div
        className={`relative flex flex-wrap items-start gap-x-2 rounded-md ${forMe ? '-mx-1 bg-amber-50 px-1 dark:bg-amber-950/60' : ''} ${
          highlighted ? 'ring-2 ring-indigo-400' : ''
        }`}
      >
      {original !== undefined && message.replyTo && (
        <ReplyQuote original={original} state={state} userId={userId} onJump={() => actions.jumpTo(message.replyTo!)} />
      )}
      <div
        className={`min-w-0 flex-1 text-[0.95rem] break-words ${html ? '' : 'whitespace-pre-wrap'} ${
          message.status === 'pending' ? 'text-gray-500 dark:text-gray-400' : 'text-gray-900 dark:text-gray-100'
        } ${msgtype === 'm.notice' ? 'text-gray-600 dark:text-gray-300' : ''}`}
      >
        <span data-body="">{content}</span>
        {message.edited && !message.redacted && (
          <span className="ml-1.5 text-xs text-gray-600 dark:text-gray-400" data-testid="edited">
            (edited)
          </span>
        )}
        {message.status === 'pending' && <span className="ml-2 text-xs text-gray-500 dark:text-gray-400">Sending…</span>}
        {message.status === 'failed' && message.txnId && (
          <span className="mt-1 flex flex-wrap items-center gap-2 text-xs">
            <span role="alert" className="text-red-700 dark:text-red-300">
              Not sent{message.error ? `: ${message.error}` : ''}
            </span>
            <button
              type="button"
              onClick={() => actions.onRetry(message.txnId!)}
              className="rounded-md bg-red-600 px-2 py-0.5 font-medium text-white hover:bg-red-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-red-500"
            >
              Retry
            </button>
            <button
              type="button"
              onClick={() => actions.onDiscard(message.txnId!)}
              className="rounded-md px-2 py-0.5 text-gray-700 underline hover:bg-gray-100 dark:text-gray-300 dark:hover:bg-gray-800"
            >
              Delete
            </button>
          </span>
        )}
        {message.reactions && message.reactions.length > 0 && (
          <Reactions reactions={message.reactions} state={state} userId={userId} onToggle={(key, mine) => live && actions.onReact?.(message.eventId!, key, mine)} />
        )}
      </div>
      {live && (
        // Shown on hover or focus. On touch screens, for the message tapped (it
        // takes the focus), floating over the messages around so nothing moves.
        <div
          data-testid="message-actions"
          className={`relative flex shrink-0 items-center gap-0.5 opacity-0 group-focus-within:opacity-100 group-hover:opacity-100 [@media(hover:none)]:absolute [@media(hover:none)]:right-0 [@media(hover:none)]:z-10 [@media(hover:none)]:hidden [@media(hover:none)]:gap-1 [@media(hover:none)]:rounded-lg [@media(hover:none)]:border [@media(hover:none)]:border-gray-200 [@media(hover:none)]:bg-white [@media(hover:none)]:p-1 [@media(hover:none)]:opacity-100 [@media(hover:none)]:shadow-md [@media(hover:none)]:group-focus-within:flex dark:[@media(hover:none)]:border-gray-700 dark:[@media(hover:none)]:bg-gray-900 ${
            actionsBelow ? '[@media(hover:none)]:top-full' : '[@media(hover:none)]:bottom-full'
          }`}
        >
          {actions.onReact && (
            <MessageAction
              ref={pickButton}
              label="React"
              onClick={(e) => {
                const log = e.currentTarget.closest('[role="log"]')
                const top = e.currentTarget.getBoundingClientRect().top - (log?.getBoundingClientRect().top ?? 0)
                setPickBelow(top < PICKER_HEIGHT_PX)
                setPicking((p) => !p)
              }}
              aria-expanded={picking}
            >
              <SmileIcon />
            </MessageAction>
          )}
          {actions.onReply && (
            <MessageAction label="Reply" onClick={() => actions.onReply!(message)}>
              <ReplyIcon />
            </MessageAction>
          )}
          {canEdit && actions.onEdit && (
            <MessageAction label="Edit message" onClick={() => actions.onEdit!(message)}>
              <PencilIcon />
            </MessageAction>
          )}
          {own && actions.onDelete && (
            <MessageAction label="Delete message" danger onClick={() => actions.onDelete!(message.eventId!)}>
              <TrashIcon className="h-4 w-4" />
            </MessageAction>
          )}
          {picking && (
            <EmojiPicker
              below={pickBelow}
              onClose={closePicker}
              onPick={(emoji) => {
                const mine = message.reactions?.find((r) => r.key === emoji)?.mine
                actions.onReact?.(message.eventId!, emoji, mine)
                closePicker()
              }}
            />
          )}
        </div>
      )}
      {showTime && (
        <time
          className="invisible shrink-0 pt-0.5 text-xs text-gray-600 group-hover:visible group-focus-within:visible dark:text-gray-400"
          dateTime={new Date(message.ts).toISOString()}
        >
          {formatTime(message.ts)}
        </time>
      )}
      {read?.seen && (
        <p className="basis-full text-right text-xs font-medium text-gray-600 dark:text-gray-400" data-testid="seen">
          Seen
        </p>
      )}
      {read?.readers && read.readers.length > 0 && <ReadBy readers={read.readers} state={state} />}
      </div>
      </div>
    </li>
  )
}

function MessageAction({
  ref,
  label,
  danger,
  children,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { ref?: Ref<HTMLButtonElement>; label: string; danger?: boolean }) {
  return (
    <button
      ref={ref}
      type="button"
      aria-label={label}
      title={label}
      {...props}
      className={`rounded-md p-0.5 text-gray-600 hover:bg-gray-100 focus-visible:opacity-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-400 dark:hover:bg-gray-800 ${
        danger ? 'hover:text-red-700 dark:hover:text-red-300' : 'hover:text-gray-900 dark:hover:text-gray-100'
      }`}
    >
      {children}
    </button>
  )
}

function ReplyQuote({ original, state, userId, onJump }: { original: DisplayMessage | null; state: StateMap; userId: string; onJump: () => void }) {
  if (!original) {
    return (
      <p className="mb-0.5 basis-full border-l-2 border-gray-300 pl-2 text-xs text-gray-600 dark:border-gray-600 dark:text-gray-400">
        In reply to a message not loaded yet
      </p>
    )
  }
  const who = original.sender === userId ? 'You' : memberName(state, original.sender)
  const snippet = original.redacted ? 'Message deleted' : stripReplyFallback(str(original.content.body) ?? '').replace(/\s+/g, ' ')
  return (
    <button
      type="button"
      onClick={onJump}
      data-testid="reply-quote"
      className="mb-0.5 block max-w-full basis-full truncate border-l-2 border-indigo-400 pl-2 text-left text-xs text-gray-700 hover:text-gray-900 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-300 dark:hover:text-gray-100"
    >
      <span className="sr-only">In reply to </span>
      <span className="font-semibold">{who}:</span> {snippet}
    </button>
  )
}

function Reactions({
  reactions,
  state,
  userId,
  onToggle,
}: {
  reactions: ReactionSummary[]
  state: StateMap
  userId: string
  onToggle: (key: string, mine?: string) => void
}) {
  return (
    <span className="mt-1 flex flex-wrap gap-1" data-testid="reactions">
      {reactions.map((r) => {
        const names = r.senders.map((u) => (u === userId ? 'you' : memberName(state, u)))
        const label = `${r.key} ${r.senders.length}, reacted by ${names.join(', ')}`
        const mine = r.senders.includes(userId)
        return (
          <button
            key={r.key}
            type="button"
            aria-pressed={mine}
            aria-label={label}
            title={`Reacted by ${names.join(', ')}`}
            onClick={() => onToggle(r.key, r.mine)}
            className={`rounded-full border px-2 py-0.5 text-xs ${
              mine
                ? 'border-indigo-400 bg-indigo-50 text-indigo-900 dark:border-indigo-500 dark:bg-indigo-950 dark:text-indigo-100'
                : 'border-gray-300 bg-white text-gray-800 hover:bg-gray-50 dark:border-gray-600 dark:bg-gray-800 dark:text-gray-100'
            } focus-visible:outline-2 focus-visible:outline-indigo-500`}
          >
            {r.key} {r.senders.length}
          </button>
        )
      })}
    </span>
  )
}

const MAX_READ_AVATARS = 5

/** Small initials of the members whose read receipt is at this message. */
function ReadBy({ readers, state }: { readers: string[]; state: StateMap }) {
  const names = readers.map((u) => memberName(state, u))
  const label = `Read by ${names.join(', ')}`
  const extra = readers.length - MAX_READ_AVATARS
  return (
    <p className="flex shrink-0 items-center gap-0.5 pt-1" role="img" aria-label={label} title={label} data-testid="read-by">
      {readers.slice(0, MAX_READ_AVATARS).map((u, i) => (
        <Avatar key={u} id={u} name={names[i]} size="xs" />
      ))}
      {extra > 0 && <span className="text-[10px] leading-4 text-gray-500 dark:text-gray-400">+{extra}</span>}
    </p>
  )
}
