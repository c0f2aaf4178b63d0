import { useEffect, useState } from 'react'
import { useController } from '../app/context'

/**
 * An object URL for authenticated media at `path` (null while loading or
 * without a path); `failed` when it could not be downloaded.
 */
export function useMediaUrl(path: string | null): { url: string | null; failed: boolean } {
  const controller = useController()
  const [loaded, setLoaded] = useState<{ path: string; url: string | null; failed: boolean } | null>(null)
  const known = path ? controller.media.peek(path) : undefined
  useEffect(() => {
    if (!path || known) return
    let live = true
    controller.media.url(path).then(
      (url) => live && setLoaded({ path, url, failed: false }),
      () => live && setLoaded({ path, url: null, failed: true }),
    )
    return () => {
      live = false
    }
  }, [controller, path, known])
  if (!path) return { url: null, failed: false }
  if (known) return { url: known, failed: false }
  if (loaded?.path === path) return { url: loaded.url, failed: loaded.failed }
  return { url: null, failed: false }
}
