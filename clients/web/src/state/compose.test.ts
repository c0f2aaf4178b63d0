import { describe, expect, it } from 'vitest'
import { editContent, markdownToHtml, mentionsIn, messageContent, permalinkUser, stripReplyFallback, userPermalink } from './compose'

describe('Markdown in the composer', () => {
  it('sends plain text without formatted_body', () => {
    expect(messageContent('just words, 1 < 2')).toEqual({ msgtype: 'm.text', body: 'just words, 1 < 2' })
    expect(messageContent('two\nlines')).toEqual({ msgtype: 'm.text', body: 'two\nlines' })
  })

  it('formats bold, italic, code, links, lists, quotes and code blocks as org.matrix.custom.html', () => {
    const c = messageContent('**bold** and _it_ and `x()` see [docs](https://example.org)')
    expect(c.format).toBe('org.matrix.custom.html')
    expect(c.body).toBe('**bold** and _it_ and `x()` see [docs](https://example.org)')
    expect(c.formatted_body).toBe('<strong>bold</strong> and <em>it</em> and <code>x()</code> see <a href="https://example.org">docs</a>')
    expect(markdownToHtml('- one\n- two')).toBe('<ul>\n<li>one</li>\n<li>two</li>\n</ul>')
    expect(markdownToHtml('1. first\n2. second')).toContain('<ol>')
    expect(markdownToHtml('> quoted')).toBe('<blockquote>\n<p>quoted</p>\n</blockquote>')
    expect(markdownToHtml('```\nlet a = 1 < 2\n```')).toBe('<pre><code>let a = 1 &lt; 2\n</code></pre>')
  })

  it('keeps typed HTML as text', () => {
    const c = messageContent('**hi** <img src=x onerror=alert(1)>')
    expect(c.formatted_body).toBe('<strong>hi</strong> &lt;img src=x onerror=alert(1)&gt;')
  })
})

describe('mentions and replies', () => {
  const ben = { userId: '@ben:hs', name: 'Ben' }

  it('links a picked member and lists them in m.mentions', () => {
    const c = messageContent('hi Ben, look', { mentions: [ben] })
    expect(c.body).toBe('hi Ben, look')
    expect(c.formatted_body).toBe('hi <a href="https://matrix.to/#/@ben:hs">Ben</a>, look')
    expect(c['m.mentions']).toEqual({ user_ids: ['@ben:hs'] })
  })

  it('drops a mention whose name was deleted from the text', () => {
    expect(mentionsIn('hi there', [ben])).toEqual([])
    expect(messageContent('hi there', { mentions: [ben] })).toEqual({ msgtype: 'm.text', body: 'hi there' })
  })

  it('a reply relates to the message and mentions its sender (not me)', () => {
    const c = messageContent('agreed', { replyTo: { eventId: '$a', sender: '@ana:hs' }, userId: '@me:hs' })
    expect(c['m.relates_to']).toEqual({ 'm.in_reply_to': { event_id: '$a' } })
    expect(c['m.mentions']).toEqual({ user_ids: ['@ana:hs'] })
    const own = messageContent('me again', { replyTo: { eventId: '$b', sender: '@me:hs' }, userId: '@me:hs' })
    expect(own['m.mentions']).toBeUndefined()
  })

  it('permalinks round-trip', () => {
    expect(userPermalink('@ben:hs')).toBe('https://matrix.to/#/@ben:hs')
    expect(permalinkUser('https://matrix.to/#/@ben:hs')).toBe('@ben:hs')
    expect(permalinkUser('https://matrix.to/#/!room:hs')).toBeUndefined()
  })

  it('strips a reply fallback from a received body', () => {
    expect(stripReplyFallback('> <@a:hs> original\n> more\n\nmy answer')).toBe('my answer')
    expect(stripReplyFallback('no fallback')).toBe('no fallback')
  })
})

describe('edits', () => {
  it('m.replace with m.new_content and a "* " fallback', () => {
    expect(editContent('$e', 'fixed')).toEqual({
      msgtype: 'm.text',
      body: '* fixed',
      'm.new_content': { msgtype: 'm.text', body: 'fixed' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$e' },
      'm.mentions': {},
    })
    const formatted = editContent('$e', '**fixed**')
    expect(formatted['m.new_content']).toMatchObject({ formatted_body: '<strong>fixed</strong>', format: 'org.matrix.custom.html' })
    expect(formatted.formatted_body).toBe('* <strong>fixed</strong>')
  })
})
