// How Received fields are read: the entry relay (the hop the receiving side wrote) in the
// spellings of the MTAs that write them. A misread hop loses the client's address or rDNS, or
// makes a collector's own relay look like the sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryRelay } from '../../src/filter/message-view.js';

const hop = (helo: string, rdns: string, ip: string) => ({ helo, rdns, ip, forged: false });

test('Received: qmail puts the rDNS first and the address in parentheses of its own', () => {
  // "from rDNS (ip)": the HELO was the rDNS; the collector's own qmail relay above is skipped.
  assert.deepEqual(entryRelay([
    'from mail.corp.example (203.0.113.9) by mx.corp.example with SMTP; 28 Nov 2026 03:46:09 -0000',
    'from web3.shop.example (192.0.2.31) by mail.corp.example with SMTP; 28 Nov 2026 03:46:08 -0000',
  ]), hop('web3.shop.example', 'web3.shop.example', '192.0.2.31'));
  // "from unknown (HELO name) (ip)": no rDNS, whatever the HELO claims.
  assert.deepEqual(entryRelay(['from unknown (HELO mail.shop.example) (198.51.100.5) by mx.corp.example with SMTP; 28 Nov 2026 03:46:09 -0000']),
    hop('mail.shop.example', '', '198.51.100.5'));
  // qmail-ldap brackets the address; SMTP AUTH adds the login and "with login".
  assert.deepEqual(entryRelay(['from unknown (HELO there) ([203.0.113.7]) (envelope-sender <a@shop.example>) by 0 (qmail-ldap-1.03) with SMTP; 8 Oct 2002 10:00:00 -0000']),
    hop('there', '', '203.0.113.7'));
  assert.deepEqual(entryRelay(['from p102.dsl.isp.example (HELO pc7) (alice@198.51.100.102 with login) by smtp.mail.example with SMTP; 20 Jul 2002 13:00:00 -0000']),
    hop('pc7', 'p102.dsl.isp.example', '198.51.100.102'));
});

test('Received: Exim puts the rDNS first and the HELO after "helo="', () => {
  assert.deepEqual(entryRelay(['from vivi.uptime.example ([198.51.100.11] helo=mail.uptime.example) by lists.example.net with esmtp (Exim 3.31 #1 (Debian)) id 17hsoM-0000Ge-00; Thu, 22 Aug 2002 10:00:00 -0700']),
    hop('mail.uptime.example', 'vivi.uptime.example', '198.51.100.11'));
  // The HELO was the rDNS; a port after the address (Exim 4).
  assert.deepEqual(entryRelay(['from mail.shop.example ([192.0.2.8]:41234) by mx.corp.example with esmtps (Exim 4.96) id 1q; Sat, 28 Nov 2026 03:46:09 +0000']),
    hop('mail.shop.example', 'mail.shop.example', '192.0.2.8'));
  // No rDNS: the address first.
  assert.deepEqual(entryRelay(['from [203.0.113.70] (helo=pc7) by mx.corp.example with smtp (Exim 4.96) id 1q; Sat, 28 Nov 2026 03:46:09 +0000']),
    hop('pc7', '', '203.0.113.70'));
  // sendmail's "from HELO ([ip])" is the HELO with no rDNS.
  assert.deepEqual(entryRelay(['from mail.shop.example ([192.0.2.8]) by mx.corp.example (8.11.6/8.11.6) with ESMTP id g7MGJoZ14241; Thu, 22 Aug 2002 17:19:50 +0100']),
    hop('mail.shop.example', '', '192.0.2.8'));
});

test('Received: sendmail and Postfix name the HELO first; IMail and fetchmail bracket the address', () => {
  assert.deepEqual(entryRelay(['from pc7 (root@host-6.dsl.isp.example [198.51.100.6]) by relay.corp.example (8.12.2) with ESMTP id x; Sat, 28 Nov 2026 03:46:07 +0000']),
    hop('pc7', 'host-6.dsl.isp.example', '198.51.100.6'));
  assert.deepEqual(entryRelay(['from [198.51.100.7] (slip-7.isp.example[198.51.100.7]) by mx.corp.example (out4) with ESMTP id x; Thu, 22 Aug 2002 13:15:02 +0000']),
    hop('198.51.100.7', 'slip-7.isp.example', '198.51.100.7'));
  // IMail writes the HELO and the address, no rDNS.
  assert.deepEqual(entryRelay(['from durnik [64.34.232.217] by mx.corp.example with ESMTP (SMTPD32-7.12) id A95F5D0110; Tue, 17 Sep 2002 13:41:51 -0400']),
    hop('durnik', '', '64.34.232.217'));
  // fetchmail's record of collecting from the recipient's own server is not a relay: the hop
  // below it is the entry.
  assert.deepEqual(entryRelay([
    'from mailbox.corp.example [203.0.113.15] by localhost with POP3 (fetchmail-5.9.0) for jm@localhost (single-drop); Fri, 19 Jul 2002 14:32:45 +0100',
    'from lists.example.org (lists.example.org [192.0.2.45]) by mailbox.corp.example (8.11.6) with ESMTP id g6JDSNJ32301; Fri, 19 Jul 2002 14:28:23 +0100',
  ]), hop('lists.example.org', 'lists.example.org', '192.0.2.45'));
});
