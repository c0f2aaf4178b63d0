import { useEffect, useMemo, useState } from 'react'
import { useActivity, useClientState, useController, usePageFocused, usePageVisible } from '../app/context'
import { answerWhichRoom, listenForOpenRoom, listenForSubscriptionChange } from '../app/notifications'
import { useSelectedRoom } from '../app/route'
import { NotificationPrompt } from '../components/NotificationPrompt'
import { CreateRoomDialog } from '../components/CreateRoomDialog'
import { JoinRoomDialog } from '../components/JoinRoomDialog'
import { OfflineBanner } from '../components/OfflineBanner'
import { QuickSwitcher } from '../components/QuickSwitcher'
import { RoomList } from '../components/RoomList'
import { RoomView } from '../components/RoomView'
import { SearchPanel } from '../components/SearchPanel'
import { SettingsDialog } from '../components/SettingsDialog'
import { GearIcon, SearchIcon, TextSearchIcon } from '../components/icons'
import { UserPickerDialog } from '../components/UserPickerDialog'
import { localpart } from '../state/events'
import { APP_TITLE, documentTitle, unreadTotals } from '../state/unread'

type Dialog = 'create' | 'join' | 'dm' | 'settings' | 'switch' | 'search' | null

/**
 * Signed-in layout. Desktop: sidebar + conversation side by side. Phone
 * (below the md breakpoint): the room list and a conversation are separate
 * views; the conversation has a back button.
 */
export function ChatScreen({ onSignOut, accountUri }: { onSignOut: () => void; accountUri?: string }) {
  const controller = useController()
  const [selected, select] = useSelectedRoom()
  const [dialog, setDialog] = useState<Dialog>(null)
  // The search result last opened: its room shows it (a new nonce each time, to jump again).
  const [focus, setFocus] = useState<{ roomId: string; eventId: string; nonce: number } | null>(null)
  const state = useClientState()
  const visible = usePageVisible()
  const { transport } = useActivity()

  // "(3) Homeserver" while anything is unread (the open room counts as read while visible).
  const title = useMemo(() => documentTitle(unreadTotals(state, visible ? selected : null)), [state, visible, selected])
  useEffect(() => {
    document.title = title
  }, [title])
  useEffect(
    () => () => {
      document.title = APP_TITLE
    },
    [],
  )

  // Tell the server what is on screen: no pushes for a room being looked at.
  const focused = usePageFocused()
  useEffect(() => controller.setFocus(selected, focused), [controller, selected, focused])

  // A notification was clicked: the service worker focused the tab, show the room.
  useEffect(() => listenForOpenRoom((roomId) => select(roomId)), [select])
  // The service worker asks which room is on screen before it shows a push.
  useEffect(() => answerWhichRoom(() => selected), [selected])
  // The browser renewed or dropped the push subscription: check it against the server again.
  useEffect(() => listenForSubscriptionChange(() => void controller.push.load()), [controller])
  useVisualViewportHeight()

  // Ctrl+K (Cmd+K on a Mac): the quick switcher; Ctrl+Shift+F: message search.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault()
        setDialog('switch')
      } else if ((e.ctrlKey || e.metaKey) && e.shiftKey && !e.altKey && e.key.toLowerCase() === 'f') {
        e.preventDefault()
        setDialog('search')
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])

  const openRoom = (roomId: string) => {
    setDialog(null)
    select(roomId)
  }
  const openResult = (roomId: string, eventId: string) => {
    setDialog(null)
    setFocus({ roomId, eventId, nonce: Date.now() })
    select(roomId)
  }

  return (
    <div
      className="app-shell flex flex-col overflow-hidden bg-white text-gray-900 dark:bg-gray-950 dark:text-gray-100"
      data-sync-transport={transport}
    >
      <OfflineBanner />
      <div className="flex min-h-0 flex-1">
        <aside
          aria-label="Sidebar"
          className={`${selected ? 'hidden md:flex' : 'flex'} w-full min-w-0 flex-col border-r border-gray-200 bg-gray-50 md:w-80 md:shrink-0 dark:border-gray-800 dark:bg-gray-900`}
        >
          <header className="flex items-center gap-2 border-b border-gray-200 px-4 py-3 dark:border-gray-800">
            <h1 className="flex-1 truncate text-base font-semibold">
              Homeserver
              <span className="block truncate text-xs font-normal text-gray-600 dark:text-gray-400">
                Signed in as {localpart(controller.userId)}
              </span>
            </h1>
            <button
              type="button"
              onClick={() => setDialog('switch')}
              aria-label="Go to a room or person"
              title="Go to a room or person (Ctrl+K)"
              aria-keyshortcuts="Control+K Meta+K"
              className="rounded-md p-1.5 text-gray-700 hover:bg-gray-200 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-200 dark:hover:bg-gray-800"
            >
              <SearchIcon />
            </button>
            <button
              type="button"
              onClick={() => setDialog('search')}
              aria-label="Search messages"
              title="Search messages (Ctrl+Shift+F)"
              aria-keyshortcuts="Control+Shift+F Meta+Shift+F"
              className="rounded-md p-1.5 text-gray-700 hover:bg-gray-200 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-200 dark:hover:bg-gray-800"
            >
              <TextSearchIcon />
            </button>
            <button
              type="button"
              onClick={() => setDialog('settings')}
              aria-label="Settings"
              title="Settings"
              className="rounded-md p-1.5 text-gray-700 hover:bg-gray-200 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-200 dark:hover:bg-gray-800"
            >
              <GearIcon />
            </button>
            <button
              type="button"
              onClick={onSignOut}
              className="rounded-md px-2 py-1 text-sm font-medium text-gray-700 hover:bg-gray-200 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-gray-200 dark:hover:bg-gray-800"
            >
              Sign out
            </button>
          </header>
          <div className="flex gap-1.5 px-4 py-3">
            <SidebarAction onClick={() => setDialog('create')}>New room</SidebarAction>
            <SidebarAction onClick={() => setDialog('join')}>Join room</SidebarAction>
            <SidebarAction onClick={() => setDialog('dm')}>New message</SidebarAction>
          </div>
          <NotificationPrompt />
          <div className="min-h-0 flex-1 overflow-y-auto">
            <RoomList selectedRoomId={selected} onSelect={openRoom} />
          </div>
        </aside>
        <main className={`${selected ? 'flex' : 'hidden md:flex'} min-w-0 flex-1 flex-col`}>
          {selected ? (
            <RoomView
              key={selected}
              roomId={selected}
              onBack={() => select(null)}
              onSearch={() => setDialog('search')}
              focusEvent={focus && focus.roomId === selected ? focus : undefined}
            />
          ) : (
            <div className="flex flex-1 items-center justify-center p-8 text-center text-gray-600 dark:text-gray-400">
              <p>Pick a room on the left, or start a new conversation.</p>
            </div>
          )}
        </main>
      </div>
      {dialog === 'switch' && <QuickSwitcher onClose={() => setDialog(null)} onOpen={openRoom} />}
      {dialog === 'search' && <SearchPanel roomId={selected} onClose={() => setDialog(null)} onOpen={openResult} />}
      {dialog === 'settings' && <SettingsDialog accountUri={accountUri} onClose={() => setDialog(null)} />}
      {dialog === 'create' && <CreateRoomDialog onClose={() => setDialog(null)} onCreated={openRoom} />}
      {dialog === 'join' && <JoinRoomDialog onClose={() => setDialog(null)} onJoined={openRoom} />}
      {dialog === 'dm' && (
        <UserPickerDialog
          title="Start a conversation"
          actionLabel="Message"
          onClose={() => setDialog(null)}
          onPick={async (userId) => openRoom(await controller.startDirect(userId))}
        />
      )}
    </div>
  )
}

function SidebarAction({ onClick, children }: { onClick: () => void; children: string }) {
  return (
    <button
      type="button"
      onClick={onClick}
      className="flex-1 rounded-lg border border-gray-300 bg-white px-1.5 py-1.5 text-xs font-medium whitespace-nowrap text-gray-800 hover:bg-gray-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500 dark:border-gray-700 dark:bg-gray-800 dark:text-gray-100 dark:hover:bg-gray-700"
    >
      {children}
    </button>
  )
}

/**
 * Keeps --app-height equal to the visible viewport, so on phones the
 * composer stays above the on-screen keyboard (100dvh where unsupported).
 */
function useVisualViewportHeight() {
  useEffect(() => {
    const vv = window.visualViewport
    const root = document.documentElement
    const update = () => {
      // While pinch-zoomed the visual viewport is small for another reason: keep the layout.
      const h = vv && Math.abs(vv.scale - 1) < 0.01 ? vv.height : window.innerHeight
      root.style.setProperty('--app-height', `${Math.round(h)}px`)
      // iOS scrolls the page up when the keyboard opens; keep the shell in place.
      if (vv && vv.offsetTop > 0) window.scrollTo(0, 0)
    }
    update()
    vv?.addEventListener('resize', update)
    vv?.addEventListener('scroll', update)
    window.addEventListener('resize', update)
    return () => {
      vv?.removeEventListener('resize', update)
      vv?.removeEventListener('scroll', update)
      window.removeEventListener('resize', update)
      root.style.removeProperty('--app-height')
    }
  }, [])
}
