import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ButtonHTMLAttributes, type Ref } from 'react'
import type { MatrixEvent } from '../api/types'
import { hasRead, placeReceipts } from '../state/ephemeral'
import { stripReplyFallback } from '../state/compose'
import { memberName, str } from '../state/events'
import { mentionsMe } from '../state/mentions'
import { formatDay, formatTime } from '../state/format'
import { firstUnread, groupTimeline, type DisplayMessage, type TimelineItem } from '../state/grouping'
import type { ReactionSummary } from '../state/relations'
import type { LocalEcho, Receipt, StateMap } from '../state/types'
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

/**
 * The scrolling message list. Older history loads when scrolled near the
 * top, keeping the visible messages where they are; new messages keep the
 * view at the bottom unless the user has scrolled up, in which case a
 * "Jump to latest" button appears.
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

  // Replies quote their original: the messages by event id.
  const originals = useMemo(() => {
    const map = new Map<string, DisplayMessage>()
    for (const item of items) if (item.kind === 'group') for (const m of item.messages) if (m.eventId) map.set(m.eventId, m)
    return map
  }, [items])

  // The first message after my read marker from someone else: the "New messages" line goes above it.
  const unreadAfter = useMemo(() => firstUnread(items, props.readMarker, userId, events), [items, props.readMarker, userId, events])
  const [showUnreadJump, setShowUnreadJump] = useState(true)

  const scrollRef = useRef<HTMLDivElement>(null)
  const [highlighted, setHighlighted] = useState<string | null>(null)

  const jumpTo = useCallback((eventId: string) => {
    const el = scrollRef.current?.querySelector<HTMLElement>(`[data-event-id="${CSS.escape(eventId)}"]`)
    if (!el) return false
    el.scrollIntoView({ block: 'center' })
    el.focus({ preventScroll: true })
    setHighlighted(eventId)
    setTimeout(() => setHighlighted((h) => (h === eventId ? null : h)), 2000)
    return true
  }, [])

  // A jump asked for from outside (search): done once the message is rendered,
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
  }, [focusEvent, revealEvent, jumpTo])

  const actions: RowActions = {
    onRetry: props.onRetry,
    onDiscard: props.onDiscard,
    onDelete: props.onDelete,
    onReply: props.onReply,
    onEdit: props.onEdit,
    onReact: props.onReact,
    jumpTo,
    highlighted,
  }

  function jumpToUnread() {
    setShowUnreadJump(false)
    const el = scrollRef.current?.querySelector<HTMLElement>('[data-testid="unread-marker"]')
    el?.scrollIntoView({ block: 'start' })
  }
  const atBottom = useRef(true)
  const lastMetrics = useRef({ scrollTop: 0, scrollHeight: 0 })
  const firstEventId = useRef<string | undefined>(undefined)
  const [showJump, setShowJump] = useState(false)
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

  const record = () => {
    const el = scrollRef.current
    if (!el) return
    lastMetrics.current = { scrollTop: el.scrollTop, scrollHeight: el.scrollHeight }
  }

  // After every change of content: keep the bottom pinned, or keep the
  // visible messages in place when older ones were added above.
  useLayoutEffect(() => {
    const el = scrollRef.current
    if (!el) return
    const first = events[0]?.event_id
    const prepended =
      firstEventId.current !== undefined && first !== firstEventId.current && events.some((e) => e.event_id === firstEventId.current)
    firstEventId.current = first
    if (atBottom.current) {
      el.scrollTop = el.scrollHeight
    } else if (prepended) {
      const { scrollTop, scrollHeight } = lastMetrics.current
      el.scrollTop = scrollTop + (el.scrollHeight - scrollHeight)
    }
    record()
    // Not enough content to scroll: fetch more so the user can scroll at all.
    if (hasMore && el.scrollHeight <= el.clientHeight + LOAD_THRESHOLD_PX / 4) requestOlder()
  }, [items, events, hasMore, requestOlder])

  useLayoutEffect(() => {
    const pending = pendingJump.current
    if (pending && jumpTo(pending)) {
      pendingJump.current = null
      atBottom.current = false
      record()
    }
  }, [items, jumpTo])

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
    if (!el) return
    record()
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX
    if (bottom !== atBottom.current) {
      atBottom.current = bottom
      setShowJump(!bottom)
      if (bottom) onSeenLatest()
    }
    if (el.scrollTop < LOAD_THRESHOLD_PX) requestOlder()
  }

  function jumpToLatest() {
    const el = scrollRef.current
    if (!el) return
    el.scrollTop = el.scrollHeight
    atBottom.current = true
    setShowJump(false)
    record()
    onSeenLatest()
  }

  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={scrollRef}
        onScroll={onScroll}
        role="log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label="Messages"
        tabIndex={0}
        className="h-full overflow-y-auto px-3 py-2 [overflow-anchor:none] focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 sm:px-5"
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
        <ol className="flex flex-col">
          {items.map((item) => (
            <TimelineRow
              key={item.key}
              item={item}
              state={state}
              userId={userId}
              actions={actions}
              readInfo={readInfo}
              unreadAfter={unreadAfter}
              originals={originals}
            />
          ))}
        </ol>
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
  /** The message just jumped to (briefly highlighted). */
  highlighted: string | null
}

function TimelineRow({
  item,
  state,
  userId,
  actions,
  readInfo,
  unreadAfter,
  originals,
}: {
  item: TimelineItem
  state: StateMap
  userId: string
  actions: RowActions
  readInfo: Map<string, ReadInfo>
  unreadAfter?: string
  originals: Map<string, DisplayMessage>
}) {
  if (item.kind === 'day') {
    return (
      <li className="my-3 flex items-center gap-3" aria-label={formatDay(item.ts)}>
        <span className="h-px flex-1 bg-gray-200 dark:bg-gray-800" aria-hidden="true" />
        <span className="text-xs font-medium text-gray-600 dark:text-gray-400">{formatDay(item.ts)}</span>
        <span className="h-px flex-1 bg-gray-200 dark:bg-gray-800" aria-hidden="true" />
      </li>
    )
  }
  if (item.kind === 'notice') {
    const time = <time dateTime={new Date(item.ts).toISOString()}>{formatTime(item.ts)}</time>
    if (item.details) {
      return (
        <li className="my-1 text-center text-xs text-gray-600 dark:text-gray-400" data-testid="state-summary">
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
      <li className="my-1 text-center text-xs text-gray-600 dark:text-gray-400">
        <span>{item.text}</span> {time}
      </li>
    )
  }
  const name = item.sender === userId ? 'You' : memberName(state, item.sender)
  const first = item.messages[0]
  const markerFirst = unreadAfter === first.key
  return (
    <>
      {markerFirst && <UnreadMarker />}
      <li className="mt-3 flex gap-3">
        <Avatar id={item.sender} name={memberName(state, item.sender)} size="sm" mxc={memberAvatar(state, item.sender)} />
        <div className="min-w-0 flex-1">
          <p className="flex items-baseline gap-2">
            <span className="text-sm font-semibold text-gray-900 dark:text-gray-100" title={item.sender}>
              {name}
            </span>
            <time className="text-xs text-gray-600 dark:text-gray-400" dateTime={new Date(first.ts).toISOString()}>
              {formatTime(first.ts)}
            </time>
          </p>
          <ul className="flex flex-col gap-0.5">
            {item.messages.map((m, i) => (
              <Fragment key={m.key}>
                {i > 0 && unreadAfter === m.key && <UnreadMarker />}
                <MessageLine
                  message={m}
                  showTime={i > 0}
                  senderName={name}
                  actions={actions}
                  own={item.sender === userId}
                  userId={userId}
                  read={m.eventId && m.status === 'remote' ? readInfo.get(m.eventId) : undefined}
                  state={state}
                  original={m.replyTo ? (originals.get(m.replyTo) ?? null) : undefined}
                />
              </Fragment>
            ))}
          </ul>
        </div>
      </li>
    </>
  )
}

function UnreadMarker() {
  return (
    <li className="my-2 flex items-center gap-2" data-testid="unread-marker" aria-label="New messages">
      <span className="h-px flex-1 bg-red-500" aria-hidden="true" />
      <span className="text-xs font-semibold text-red-700 dark:text-red-300">New messages</span>
      <span className="h-px flex-1 bg-red-500" aria-hidden="true" />
    </li>
  )
}

function MessageLine({
  message,
  showTime,
  senderName,
  actions,
  own,
  userId,
  read,
  state,
  original,
}: {
  message: DisplayMessage
  showTime: boolean
  senderName: string
  actions: RowActions
  /** Sent by me (edit and delete offered). */
  own: boolean
  userId: string
  read?: ReadInfo
  state: StateMap
  /** For a reply: the message replied to (null: not loaded). */
  original?: DisplayMessage | null
}) {
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
      className={`group relative flex flex-wrap items-start gap-x-2 rounded-md ${forMe ? '-mx-1 bg-amber-50 px-1 dark:bg-amber-950/60' : ''} ${
        actions.highlighted && actions.highlighted === message.eventId ? 'ring-2 ring-indigo-400' : ''
      }`}
      data-status={message.status}
      data-event-id={message.eventId}
      data-mentions-me={forMe ? 'true' : undefined}
      data-highlighted={actions.highlighted && actions.highlighted === message.eventId ? 'true' : undefined}
      tabIndex={-1}
    >
      {original !== undefined && message.replyTo && (
        <ReplyQuote original={original} state={state} userId={userId} onJump={() => actions.jumpTo(message.replyTo!)} />
      )}
      <div
        className={`min-w-0 flex-1 text-[0.95rem] break-words ${html ? '' : 'whitespace-pre-wrap'} ${
          message.status === 'pending' ? 'text-gray-500 dark:text-gray-400' : 'text-gray-900 dark:text-gray-100'
        } ${msgtype === 'm.notice' ? 'text-gray-600 dark:text-gray-300' : ''} ${
          // On touch screens a tap shows the actions: below media, so its Download does not move under the finger.
          isMediaMsgtype(msgtype) ? '[@media(hover:none)]:basis-full' : ''
        }`}
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
        // Shown on hover or focus; on touch screens, for the message tapped (it takes the focus).
        <div className="relative flex shrink-0 items-center gap-0.5 opacity-0 group-focus-within:opacity-100 group-hover:opacity-100 [@media(hover:none)]:hidden [@media(hover:none)]:opacity-100 [@media(hover:none)]:group-focus-within:flex">
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
