import { useCallback, useEffect, useId, useMemo, useRef, useState, type ButtonHTMLAttributes, type ReactNode, type Ref } from 'react'
import { useClientState, useController, useNow } from '../app/context'
import { describeError } from '../api/errors'
import { directPartner, directRoomIds } from '../state/dm'
import { roomEchoes } from '../state/echo'
import { presenceLabel, typingText } from '../state/ephemeral'
import { isRoomMuted } from '../state/pushRules'
import { otherMembers, roomDisplayName, roomTopic } from '../state/rooms'
import { Avatar } from './Avatar'
import { BellIcon, LeaveIcon, PeopleIcon, PersonAddIcon, TextSearchIcon } from './icons'
import { ConfirmDialog } from './ConfirmDialog'
import { Composer } from './Composer'
import { editContent, messageContent, stripReplyFallback, type Mention } from '../state/compose'
import { isRedacted, memberName, membershipOf, str } from '../state/events'
import { isRelationEcho, type DisplayMessage } from '../state/grouping'
import type { MemberOption } from '../state/mentions'
import { collectEdits, displayedContent, isRelationOnly } from '../state/relations'
import { MemberPanel } from './MemberPanel'
import { AvatarWithPresence } from './Presence'
import { Timeline } from './Timeline'
import { UserPickerDialog } from './UserPickerDialog'
import { UploadTray } from './Uploads'
import { useUploads } from './useUploads'
import { RoomSettingsDialog } from './RoomSettingsDialog'
import { memberAvatar, roomAvatar } from '../state/avatars'
import { Button, Spinner } from './ui'

export function RoomView({
  roomId,
  onBack,
  onSearch,
  focusEvent,
}: {
  roomId: string
  onBack: () => void
  /** Opens the message search (this room preselected). */
  onSearch?: () => void
  /** A message to show (a search result). */
  focusEvent?: { eventId: string; nonce: number }
}) {
  const controller = useController()
  const state = useClientState()
  const room = state.rooms[roomId]
  const echoes = useMemo(() => roomEchoes(state.echoes, roomId), [state.echoes, roomId])
  const composerRef = useRef<HTMLTextAreaElement>(null)
  const [inviting, setInviting] = useState(false)
  const [actionError, setActionError] = useState<string | null>(null)
  const [muteBusy, setMuteBusy] = useState(false)
  const [membersOpen, setMembersOpen] = useState(false)
  // Which confirmation is open: leaving the room, or deleting one message.
  const [confirming, setConfirming] = useState<'leave' | { eventId: string } | null>(null)
  const panelId = useId()
  const membersButtonRef = useRef<HTMLButtonElement>(null)
  const now = useNow()
  const uploads = useUploads(roomId)
  const [dragging, setDragging] = useState(false)
  const [settingsOpen, setSettingsOpen] = useState(false)
  const sendFiles = useCallback(
    (files: File[], pasted: boolean) => {
      for (const f of files) uploads.send(f, pasted)
    },
    [uploads],
  )

  // Pages of 50 as the user scrolls back: fewer round trips through long histories.
  const loadOlder = useCallback(() => controller.loadOlder(roomId, 50), [controller, roomId])
  const revealEvent = useCallback((eventId: string) => controller.revealEvent(roomId, eventId), [controller, roomId])
  const markRead = useCallback(() => controller.markRead(roomId), [controller, roomId])
  const [replyingTo, setReplyingTo] = useState<DisplayMessage | null>(null)
  const [editing, setEditing] = useState<DisplayMessage | null>(null)
  // Where my read receipt was when the room opened: the "New messages" line.
  const [readMarker] = useState(() => state.rooms[roomId]?.receipts[state.userId]?.eventId)
  const send = useCallback(
    (text: string, mentions: Mention[]) => {
      if (editing?.eventId) {
        controller.sendMessage(roomId, editContent(editing.eventId, text, { mentions, userId: controller.userId }))
        setEditing(null)
        return
      }
      const replyTo = replyingTo?.eventId ? { eventId: replyingTo.eventId, sender: replyingTo.sender } : undefined
      controller.sendMessage(roomId, messageContent(text, { mentions, replyTo, userId: controller.userId }))
      setReplyingTo(null)
    },
    [controller, roomId, editing, replyingTo],
  )
  const react = useCallback(
    (eventId: string, key: string, mine?: string) => {
      if (mine) {
        controller.unreact(roomId, mine).catch((e: unknown) => setActionError(describeError(e)))
      } else {
        controller.react(roomId, eventId, key)
      }
    },
    [controller, roomId],
  )
  const startReply = useCallback((m: DisplayMessage) => {
    setEditing(null)
    setReplyingTo(m)
  }, [])
  const startEdit = useCallback((m: DisplayMessage) => {
    setReplyingTo(null)
    setEditing(m)
  }, [])
  const retry = useCallback((txnId: string) => controller.retry(txnId), [controller])
  const discard = useCallback((txnId: string) => controller.discard(txnId), [controller])
  const onInput = useCallback((text: string) => controller.composerInput(roomId, text), [controller, roomId])
  const onStop = useCallback(() => controller.composerStop(roomId), [controller, roomId])
  // Leaving the room (or switching to another) ends "typing" here.
  useEffect(() => () => controller.composerStop(roomId), [controller, roomId])

  const backButton = (
    <button
      type="button"
      onClick={onBack}
      aria-label="Back to room list"
      className="-ml-1 rounded-md p-1.5 text-gray-700 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 md:hidden dark:text-gray-200 dark:hover:bg-gray-800"
    >
      <svg viewBox="0 0 20 20" className="h-5 w-5" aria-hidden="true">
        <path d="M12.5 4.5L7 10l5.5 5.5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
    </button>
  )

  if (!room) {
    return (
      <section className="flex h-full flex-col" aria-label="Room">
        <header className="flex items-center gap-2 border-b border-gray-200 px-3 py-3 dark:border-gray-800">{backButton}</header>
        <div className="flex flex-1 items-center justify-center p-6 text-center">
          {state.synced && !(roomId in state.invites) ? (
            <Spinner label="Waiting for the room…" />
          ) : roomId in state.invites ? (
            <p className="text-sm text-gray-600 dark:text-gray-400">Accept the invitation in the room list to open this room.</p>
          ) : (
            <Spinner label="Loading…" />
          )}
        </div>
      </section>
    )
  }

  const name = roomDisplayName(room, state.userId)
  const topic = roomTopic(room)
  const isDirect = directRoomIds(state.accountData['m.direct']).has(roomId)
  const partner = isDirect ? (directPartner(state.accountData['m.direct'], roomId) ?? otherMembers(room, state.userId)[0]) : undefined
  const partnerPresence = partner ? state.presence[partner] : undefined
  const subtitle = partner ? presenceLabel(partnerPresence, now) : topic
  const typing = typingText(room.typing, room.state, state.userId)
  // A new room nobody else is in (or invited to) yet: offer to invite people.
  const alone = !isDirect && otherMembers(room, state.userId).length === 0
  const members: MemberOption[] = Object.keys(room.state['m.room.member'] ?? {})
    .filter((u) => u !== state.userId && membershipOf(room.state, u) === 'join')
    .map((u) => ({ userId: u, name: memberName(room.state, u) }))
  const failedRelations = echoes.filter((e) => e.status === 'failed' && isRelationEcho(e))
  const editLast = () => {
    for (let i = room.timeline.length - 1; i >= 0; i--) {
      const e = room.timeline[i]
      if (e.sender === state.userId && e.type === 'm.room.message' && !isRelationOnly(e) && !isRedacted(e)) {
        const { content } = displayedContent(e, collectEdits(room.timeline.slice(i)))
        startEdit({ key: e.event_id, eventId: e.event_id, sender: e.sender, ts: e.origin_server_ts, type: e.type, content, status: 'remote' })
        return
      }
    }
  }
  const muted = isRoomMuted(state.accountData['m.push_rules'], roomId)

  async function toggleMute() {
    setMuteBusy(true)
    setActionError(null)
    try {
      await controller.setRoomMuted(roomId, !muted)
    } catch (e) {
      setActionError(`Couldn't ${muted ? 'unmute' : 'mute'} ${name}: ${describeError(e)}`)
    } finally {
      setMuteBusy(false)
    }
  }


  return (
    <section className="flex h-full min-h-0 w-full" aria-labelledby="room-title">
      <div
        className={`${membersOpen ? 'hidden md:flex' : 'flex'} relative min-h-0 min-w-0 flex-1 flex-col`}
        onDragEnter={(e) => {
          if (e.dataTransfer.types.includes('Files')) setDragging(true)
        }}
        onDragOver={(e) => {
          if (!e.dataTransfer.types.includes('Files')) return
          e.preventDefault()
          e.dataTransfer.dropEffect = 'copy'
        }}
        onDragLeave={(e) => {
          if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false)
        }}
        onDrop={(e) => {
          setDragging(false)
          const files = Array.from(e.dataTransfer.files)
          if (files.length === 0) return
          e.preventDefault()
          sendFiles(files, false)
        }}
      >
        {dragging && (
          <div
            data-testid="drop-zone"
            className="pointer-events-none absolute inset-2 z-30 flex items-center justify-center rounded-xl border-2 border-dashed border-indigo-500 bg-white/90 text-base font-medium text-indigo-800 dark:bg-gray-900/90 dark:text-indigo-200"
          >
            Drop files to share them in {name}
          </div>
        )}
        <header className="flex items-center gap-2 sm:gap-3 border-b border-gray-200 bg-white px-3 py-2 dark:border-gray-800 dark:bg-gray-900">
          {backButton}
          {partner ? (
            <AvatarWithPresence id={partner} name={name} presence={partnerPresence} size="sm" mxc={memberAvatar(room.state, partner)} />
          ) : (
            // The room's picture opens its settings (name, topic, avatar), as in other chat apps.
            <button
              type="button"
              onClick={() => setSettingsOpen(true)}
              aria-label="Room settings"
              title="Room settings"
              className="shrink-0 rounded-full focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500"
            >
              <Avatar id={roomId} name={name} size="sm" mxc={roomAvatar(room.state)} />
            </button>
          )}
          <div className="min-w-24 flex-1">
            <h1 id="room-title" className="truncate text-base font-semibold text-gray-900 dark:text-gray-50">
              {name}
            </h1>
            {subtitle && (
              <p className="truncate text-xs text-gray-600 dark:text-gray-400" data-testid="room-subtitle">
                {subtitle}
              </p>
            )}
          </div>
          {onSearch && <HeaderButton label="Search messages" icon={<TextSearchIcon />} onClick={onSearch} />}
          <button
            type="button"
            onClick={toggleMute}
            disabled={muteBusy}
            aria-pressed={muted}
            aria-label="Mute notifications"
            title={muted ? 'Notifications are muted: click to unmute' : 'Mute notifications'}
            data-testid="mute-room"
            className={`rounded-md p-1 sm:p-1.5 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-60 dark:hover:bg-gray-800 ${
              muted ? 'text-amber-700 dark:text-amber-400' : 'text-gray-700 dark:text-gray-200'
            }`}
          >
            <BellIcon muted={muted} />
          </button>
          <HeaderButton
            ref={membersButtonRef}
            label="Members"
            icon={<PeopleIcon />}
            onClick={() => setMembersOpen((o) => !o)}
            aria-expanded={membersOpen}
            aria-controls={membersOpen ? panelId : undefined}
          />
          {!isDirect && <HeaderButton label="Invite" icon={<PersonAddIcon />} onClick={() => setInviting(true)} />}
          <HeaderButton label="Leave" icon={<LeaveIcon />} onClick={() => setConfirming('leave')} />
        </header>
        {actionError && (
          <p role="alert" className="bg-red-50 px-4 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
            {actionError}
          </p>
        )}
        <Timeline
          roomId={roomId}
          events={room.timeline}
          echoes={echoes}
          state={room.state}
          userId={state.userId}
          hasMore={room.prevBatch !== null}
          loadOlder={loadOlder}
          onRetry={retry}
          onDiscard={discard}
          onDelete={(eventId) => setConfirming({ eventId })}
          onReply={startReply}
          onEdit={startEdit}
          onReact={react}
          readMarker={readMarker}
          onSeenLatest={markRead}
          receipts={room.receipts}
          dmPartner={partner}
          focusEvent={focusEvent}
          revealEvent={revealEvent}
        />
        {alone && (
          <div className="mx-3 mb-2 flex flex-wrap items-center justify-between gap-2 rounded-lg border border-gray-200 bg-gray-50 px-3 py-2 text-sm text-gray-700 sm:mx-5 dark:border-gray-800 dark:bg-gray-900 dark:text-gray-300">
            <p>You're the only one here.</p>
            <Button onClick={() => setInviting(true)} className="py-1">
              Invite people
            </Button>
          </div>
        )}
        <p
          aria-live="polite"
          data-testid="typing"
          className="h-5 truncate px-4 text-xs text-gray-600 italic dark:text-gray-400"
        >
          {typing}
        </p>
        {failedRelations.map((e) => (
          <p key={e.txnId} role="alert" className="flex items-center gap-2 bg-red-50 px-4 py-1.5 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">
            <span className="flex-1">
              {e.type === 'm.reaction' ? 'A reaction' : 'An edit'} was not sent{e.error ? `: ${e.error}` : ''}
            </span>
            <button type="button" className="underline" onClick={() => controller.retry(e.txnId)}>
              Retry
            </button>
            <button type="button" className="underline" onClick={() => controller.discard(e.txnId)}>
              Dismiss
            </button>
          </p>
        ))}
        <UploadTray uploads={uploads.uploads} onCancel={uploads.cancel} onRetry={uploads.retry} onDismiss={uploads.dismiss} />
        <Composer
          ref={composerRef}
          onFiles={sendFiles}
          roomName={name}
          members={members}
          onSend={send}
          onInput={onInput}
          onStop={onStop}
          replyingTo={
            replyingTo
              ? {
                  name: replyingTo.sender === state.userId ? 'yourself' : memberName(room.state, replyingTo.sender),
                  snippet: stripReplyFallback(str(replyingTo.content.body) ?? ''),
                }
              : null
          }
          editing={editing?.eventId ? { eventId: editing.eventId, text: str(editing.content.body) ?? '' } : null}
          onCancel={() => {
            setReplyingTo(null)
            setEditing(null)
          }}
          onEditLast={editLast}
        />
      </div>
      {membersOpen && (
        <MemberPanel
          id={panelId}
          roomId={roomId}
          onClose={() => {
            setMembersOpen(false)
            // Back where the user was (after the conversation is shown again on phones).
            requestAnimationFrame(() => membersButtonRef.current?.focus())
          }}
        />
      )}
      {confirming === 'leave' && (
        <ConfirmDialog
          title={`Leave ${name}?`}
          message={isDirect ? 'You will no longer get messages from this conversation.' : 'You will need a new invitation to come back unless the room is public.'}
          confirmLabel="Leave"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await controller.leaveRoom(roomId)
            onBack()
          }}
        />
      )}
      {confirming && confirming !== 'leave' && (
        <ConfirmDialog
          title="Delete this message?"
          message="It will be removed for everyone in the room."
          confirmLabel="Delete"
          onClose={() => setConfirming(null)}
          onConfirm={() => controller.deleteMessage(roomId, confirming.eventId)}
        />
      )}
      {settingsOpen && <RoomSettingsDialog roomId={roomId} onClose={() => setSettingsOpen(false)} />}
      {inviting && (
        <UserPickerDialog
          title={`Invite to ${name}`}
          actionLabel="Invite"
          onClose={() => setInviting(false)}
          onPick={async (userId) => {
            await controller.invite(roomId, userId)
            setInviting(false)
          }}
        />
      )}
    </section>
  )
}

/**
 * An icon button of the room header; its word shows beside the icon only on
 * wide screens, so on a phone the room's name keeps the room it needs.
 */
function HeaderButton({
  ref,
  label,
  icon,
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { ref?: Ref<HTMLButtonElement>; label: string; icon: ReactNode }) {
  return (
    <button
      ref={ref}
      type="button"
      aria-label={label}
      title={label}
      {...props}
      className="flex shrink-0 items-center gap-1.5 rounded-md p-1 text-sm font-medium text-gray-700 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-indigo-500 aria-expanded:bg-gray-100 sm:p-1.5 lg:px-2 dark:text-gray-200 dark:hover:bg-gray-800 dark:aria-expanded:bg-gray-800"
    >
      {icon}
      <span className="hidden lg:inline" aria-hidden="true">
        {label}
      </span>
    </button>
  )
}
