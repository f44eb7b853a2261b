// The HTML scanner's facts: what counts as hidden text, as an image and as a script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanHtml, decodeEntities, tidySpace } from '../../src/filter/html.js';
import { prng } from '../helpers/prng.js';

const WORDS = 'cheap watches replica rolex discount pharmacy casino poker loans';

test('hidden text is counted, a preheader before the visible text is not', () => {
  const stuffed = scanHtml(`<p>Hello friend</p><div style="display:none">${WORDS}</div>`);
  assert.equal(stuffed.hiddenChars, WORDS.replace(/ /g, '').length);
  const white = scanHtml(`<p>Hello</p><font color="#ffffff">${WORDS}</font>`);
  assert.ok(white.hiddenChars > 40);
  // The preview line templates hide at the top of the body (after an invisible <title>).
  const pre = scanHtml(`<html><head><title>News</title></head><body><span style="display:none;max-height:0">${WORDS}&zwnj;&nbsp;&zwnj;&nbsp;</span><h1>Our news</h1></body></html>`);
  assert.equal(pre.hiddenChars, 0);
  // ...but a long block hidden before the text is stuffing all the same.
  const long = (WORDS + ' ').repeat(5);
  assert.ok(scanHtml(`<div style="display:none">${long}</div><p>Hello</p>`).hiddenChars > 200);
  // Words with a slash are still words; a path of several segments is not.
  assert.ok(scanHtml(`<p>Hi</p><div style="display:none">${WORDS.split(' ').join('/ ')}/</div>`).hiddenChars > 40);
  // Links and addresses hidden in a notification are not words.
  const id = scanHtml('<p>Reply above</p><span style="display:none">Message ID: &lt;org/repo/issues/1839/2437710021@github.com&gt;</span>');
  assert.ok(id.hiddenChars < 15, `${id.hiddenChars}`);
});

test('a 1x1 read beacon is not an image; JSON-LD is not a script', () => {
  const h = scanHtml('<p>Hi</p><img src="https://t.example/o.gif" width="1" height="1"><img src="https://cdn.example/a.png" width="600" height="300">');
  assert.equal(h.images, 1);
  assert.equal(scanHtml('<script type="application/ld+json">{"@type":"EmailMessage"}</script>').script, false);
  assert.equal(scanHtml('<script>alert(1)</script>').script, true);
  assert.equal(scanHtml('<script type="text/javascript">x()</script>').script, true);
});

test('style, script and xml content is skipped to its closing tag, in any case', () => {
  const h = scanHtml('<STYLE>.a{color:red} p { x: "<b>" }</Style><p>Visible “text” ✓</p><SCRIPT>var hidden = "words";</sCrIpT><xml><o:p>office</o:p></XML><p>after</p>');
  assert.match(h.text, /Visible “text” ✓/);
  assert.match(h.text, /after/);
  assert.doesNotMatch(h.text, /color|hidden|office/);
  assert.equal(h.script, true);
  // An unclosed style swallows the rest, as a browser does.
  assert.doesNotMatch(scanHtml('<p>shown</p><style>p{} <p>never shown</p>').text, /never/);
  // Text beyond Latin-1 around many style blocks: each is skipped where it ends.
  const r = scanHtml('<p>’ ✓ ünïcödé</p><style>.c{margin:0}</style>'.repeat(500));
  assert.equal(r.text.split('ünïcödé').length, 501);
  assert.doesNotMatch(r.text, /margin/);
});

test('character references: &#128; to &#159; are the windows-1252 characters HTML reads them as', () => {
  assert.equal(decodeEntities('it&#146;s soon&#151;at &#147;x&#148; &#128;5 &#x92; &#129;'), 'it\u2019s soon\u2014at \u201cx\u201d \u20ac5 \u2019 \u0081');
  assert.equal(decodeEntities('&#233;t&eacute; &#x1F600; &#0;'), '\u00e9t\u00e9 \u{1F600}  ');
});

test('white space of the rendered text: one pass, the same as the two replaces it stands for', () => {
  const twoReplaces = (s: string) => s.replace(/[ \t\u00a0]+/g, ' ').replace(/\s*\n\s*/g, '\n');
  const pieces = [' ', ' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\ufeff', '\u3000', '\v', '\f', '\u2028', '\u0085', '\u200b', 'a', 'é', '日'];
  const rnd = prng(5);
  for (let k = 0; k < 20000; k++) {
    let s = '';
    for (let i = Math.floor(rnd() * 14); i > 0; i--) s += pieces[Math.floor(rnd() * pieces.length)];
    assert.equal(tidySpace(s), twoReplaces(s), JSON.stringify(s));
  }
  assert.equal(scanHtml('<p>one \t two</p>\n \n<p>\u00a0three</p>').text, '\none two\nthree\n');
});

test('a style repeated through a document is judged where it stands each time', () => {
  // The same white-text style hides on the default background and shows on a coloured one.
  const style = 'color:#ffffff; font-size:12px';
  const h = scanHtml(`<p>Visible first</p><table bgcolor="#003366"><tr><td style="${style}">${WORDS}</td></tr></table><div style="${style}">${WORDS}</div>`);
  assert.equal(h.hiddenChars, WORDS.replace(/ /g, '').length);
  assert.ok(h.tokens.has('style:color') && h.tokens.has('style:font-size'));
  // Many distinct styles (past the remembered ones) are each still read.
  const many = Array.from({ length: 600 }, (_, i) => `<span style="padding:${i}px">w${i}</span>`).join('');
  assert.equal(scanHtml(`<p>Hi</p>${many}<span style="padding:1px;display:none">${WORDS}</span>`).hiddenChars, WORDS.replace(/ /g, '').length);
});
