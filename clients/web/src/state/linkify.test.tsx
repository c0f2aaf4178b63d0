// @vitest-environment jsdom
import { act } from 'react'
import { createRoot } from 'react-dom/client'
import { renderToStaticMarkup } from 'react-dom/server'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkifiedText } from '../components/MessageBody'
import { linkify, safeHref } from './linkify'

;(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true

describe('linkify', () => {
  it('splits text and http(s) links', () => {
    expect(linkify('see https://example.org/a?b=1 now')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ' now' },
    ])
  })

  it('links www. addresses with https and leaves trailing punctuation out', () => {
    expect(linkify('Go to www.example.com.')).toEqual([
      { kind: 'text', text: 'Go to ' },
      { kind: 'link', text: 'www.example.com', href: 'https://www.example.com/' },
      { kind: 'text', text: '.' },
    ])
  })

  it('keeps balanced parentheses but drops an unbalanced closing one', () => {
    const segs = linkify('(see https://en.wikipedia.org/wiki/Foo_(bar))')
    expect(segs.filter((s) => s.kind === 'link').map((s) => s.text)).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)'])
    expect(segs[segs.length - 1]).toEqual({ kind: 'text', text: ')' })
  })

  it('never links javascript:, data: or other schemes', () => {
    for (const t of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://x.org', 'mailto:a@b.c']) {
      expect(linkify(t)).toEqual([{ kind: 'text', text: t }])
    }
  })

  it('safeHref only accepts absolute http(s) URLs', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('data:text/html,x')).toBeNull()
    expect(safeHref('http://')).toBeNull()
    expect(safeHref('ftp://x.org/file')).toBeNull()
    expect(safeHref('www.example.org/a b')).toBe('https://www.example.org/a%20b')
    expect(safeHref('HTTPS://Example.org')).toBe('https://example.org/')
  })

  it('does not let markup pass through (segments concatenate back to the input)', () => {
    const input = '<img src=x onerror=alert(1)> https://a.example/<script>alert(1)</script> & "quotes"'
    const segs = linkify(input)
    expect(segs.map((s) => s.text).join('')).toBe(input)
    for (const s of segs) if (s.kind === 'link') expect(s.href).not.toMatch(/[<>"]/)
  })
})

describe('<LinkifiedText>', () => {
  let container: HTMLDivElement | null = null
  afterEach(() => {
    container?.remove()
    container = null
  })

  it('renders HTML-looking text as text, and only <a> elements for links', () => {
    const text = '<b>bold</b><script>alert(1)</script> visit https://example.org/x'
    container = document.createElement('div')
    document.body.append(container)
    const root = createRoot(container)
    act(() => root.render(<LinkifiedText text={text} />))

    const elements = [...container.querySelectorAll('*')]
    expect(elements.map((e) => e.tagName)).toEqual(['A'])
    expect(container.textContent).toBe(text)
    const a = elements[0] as HTMLAnchorElement
    expect(a.getAttribute('href')).toBe('https://example.org/x')
    expect(a.getAttribute('rel')).toBe('noopener noreferrer')
    expect(a.getAttribute('target')).toBe('_blank')
    act(() => root.unmount())
  })

  it('escapes markup in server rendering too', () => {
    const html = renderToStaticMarkup(<LinkifiedText text={'<img src=x onerror=alert(1)>'} />)
    expect(html).toBe('&lt;img src=x onerror=alert(1)&gt;')
  })
})
