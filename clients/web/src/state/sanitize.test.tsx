// @vitest-environment jsdom
import { renderToStaticMarkup } from 'react-dom/server'
import { describe, expect, it } from 'vitest'
import { FormattedBody } from '../components/FormattedBody'

const render = (html: string, me = '@me:hs') =>
  renderToStaticMarkup(<FormattedBody html={html} mentions={{ me, nameOf: (u) => u }} />)

describe('received HTML', () => {
  it('keeps the allowed formatting', () => {
    const out = render('<strong>b</strong> <em>i</em> <code>c</code><ul><li>x</li></ul><blockquote>q</blockquote><pre><code>p</code></pre>')
    for (const tag of ['<strong', '<em', '<code', '<ul', '<li', '<blockquote', '<pre']) expect(out).toContain(tag)
  })

  it('drops scripts, event handlers, styles, images and unknown tags (keeping their text)', () => {
    const out = render('<script>alert(1)</script><img src=x onerror=alert(1)><b onclick="x()" style="color:red">bold</b><marquee>moving</marquee>')
    expect(out).not.toMatch(/script|onerror|onclick|style=|<img|marquee/)
    expect(out).toContain('<b')
    expect(out).toContain('bold')
    expect(out).toContain('moving')
  })

  it('allows only http(s) and mailto links, opening safely', () => {
    const out = render('<a href="javascript:alert(1)">bad</a> <a href="https://example.org">good</a> <a href="data:text/html,x">data</a>')
    expect(out).not.toContain('javascript:')
    expect(out).not.toContain('data:')
    expect(out).toContain('href="https://example.org" target="_blank" rel="noopener noreferrer"')
    expect(out).toContain('bad')
  })

  it('drops the reply fallback with its content', () => {
    expect(render('<mx-reply><blockquote>old</blockquote></mx-reply>answer')).toBe('answer')
  })

  it('shows user links as mention pills, mine highlighted', () => {
    const out = render('hi <a href="https://matrix.to/#/@me:hs">Me</a> and <a href="https://matrix.to/#/@ben:hs">Ben</a>')
    expect(out).toContain('data-mention="@me:hs"')
    expect(out).toMatch(/data-mention="@me:hs"[^>]*class="[^"]*bg-amber-200/)
    expect(out).toMatch(/data-mention="@ben:hs"[^>]*class="[^"]*bg-indigo-100/)
  })
})
