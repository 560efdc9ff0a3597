#!/usr/bin/env node
// demo-log.mjs — writes a realistic, reproducible mail log for the demo and
// the browser tests: Postfix + Dovecot lines in rsyslog's RFC 3339 format for
// three hosted domains, remote peers on public addresses of many countries.
//
// Usage: demo-log.mjs --out DIR [--seed N] [--end EPOCH] [--hours H] [--rate N]
// Writes DIR/mail.log, DIR/domains.json (the hosted-domains file, DESIGN §4)
// and DIR/manifest.json: what was generated, counted by this script as it
// wrote the lines (per hosted domain: logins ok/failed per protocol, mails
// received/sent and their final status, marker mails) — the ground truth the
// browser tests compare the UI with. Same arguments → same bytes.
//
// Traffic: inbound mail delivered over LMTP, inbound rejected (unknown
// user, RBL), outbound SASL mail sent / deferred then sent / bounced with a
// bounce notification / expired, IMAP/POP3 logins and failed logins, SMTP
// AUTH failures. Times run from END − HOURS to END, in UTC ("+00:00").
import fs from 'node:fs';
import path from 'node:path';

function args(argv) {
    const a = { seed: 1, end: Math.floor(Date.now() / 1000), hours: 72, rate: 6, out: null };
    for (let i = 2; i < argv.length; i++) {
        const k = argv[i].replace(/^--/, '');
        if (!(k in a)) throw new Error(`demo-log: unknown option ${argv[i]}`);
        a[k] = k === 'out' ? argv[++i] : Number(argv[++i]);
    }
    if (!a.out) throw new Error('usage: demo-log.mjs --out DIR [--seed N] [--end EPOCH] [--hours H] [--rate N]');
    return a;
}

// mulberry32: a small seeded PRNG, so that a seed gives the same log.
function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const HOST = 'mx1';
const DOMAINS = [
    { name: 'example.com', owner_email: 'owner@example.com', client: 'cli1', reseller: 'res1', boxes: ['info', 'anna', 'sales', 'support'], sysuser: 'excom_web', sysuser_uid: 10001 },
    { name: 'example.net', owner_email: 'admin@example.net', client: 'cli2', reseller: 'res1', boxes: ['office', 'jan', 'billing'], sysuser: 'exnet_web', sysuser_uid: 10002 },
    { name: 'example.org', owner_email: 'webmaster@example.org', client: 'cli3', reseller: '', boxes: ['contact', 'lisa'], sysuser: 'exorg_web', sysuser_uid: 10003 },
];
// Public addresses and the country a GeoIP database puts them in.
const PEERS = [
    { ip: '81.2.69.160', host: 'mail.partner-uk.test', cc: 'GB' },
    { ip: '217.160.0.1', host: 'mout.kundenserver.test', cc: 'DE' },
    { ip: '8.8.8.8', host: 'mail-sor-f41.google.test', cc: 'US' },
    { ip: '193.0.6.139', host: 'smtp.ripe.test', cc: 'NL' },
    { ip: '62.210.16.1', host: 'mx.online-fr.test', cc: 'FR' },
    { ip: '200.160.2.3', host: 'mail.registro-br.test', cc: 'BR' },
    { ip: '2a00:1450:4001:80b::2004', host: 'mail-ie.google.test', cc: 'IE' },
];
const USERS_AT = [
    { ip: '217.160.0.1', cc: 'DE' },
    { ip: '81.2.69.160', cc: 'GB' },
    { ip: '193.0.6.139', cc: 'NL' },
    { ip: '192.168.1.20', cc: '' },
];
const SUSPICIOUS = [
    { ip: '202.96.134.133', cc: 'CN' },
    { ip: '77.88.8.8', cc: 'RU' },
    { ip: '41.203.64.1', cc: 'NG' },
];
const REMOTE = ['alice@partner-uk.test', 'bob@kundenserver.test', 'news@shop.example', 'carol@registro-br.test', 'dave@online-fr.test', 'erik@ripe.test'];

function main() {
    const a = args(process.argv);
    const r = rng(a.seed);
    const pick = (xs) => xs[Math.floor(r() * xs.length)];
    const lines = [];
    let pid = 1000 + Math.floor(r() * 1000);
    let qn = 0;
    const qid = () => {
        qn++;
        return (((0x1a2b3c4 + qn * 7919) & 0xfffffff).toString(16).toUpperCase() + 'A0').padStart(10, '4');
    };
    const manifest = { failed_logins_without_user: 0, seed: a.seed, start: a.end - a.hours * 3600 - 7200, end: a.end, domains: {}, markers: [], webforms: [] };
    for (const d of DOMAINS) {
        manifest.domains[d.name] = {
            client: d.client,
            logins: { ok: 0, failed: 0, imap: 0, pop3: 0, smtp: 0 },
            received: { sent: 0, rejected: 0 },
            sent: { sent: 0, deferred_then_sent: 0, bounced: 0, expired: 0 },
            countries_ok: {},
        };
    }
    const ts = (t) => {
        const ms = Math.round(t * 1000);
        const us = String((ms % 1000) * 1000).padStart(6, '0');
        return `${new Date(ms).toISOString().slice(0, 19)}.${us}+00:00`;
    };
    const log = (t, prog, text, p = pid) => lines.push({ t, s: `${ts(t)} ${HOST} ${prog}[${p}]: ${text}` });
    const msgid = (t, dom) => `<${Math.floor(t).toString(36)}.${qn.toString(36)}${Math.floor(r() * 1e6).toString(36)}@${dom}>`;

    const inbound = (t, d, box, sender, peer, marker) => {
        const q = qid();
        const p = (pid += 8);
        const rcpt = `${box}@${d.name}`;
        const size = 1200 + Math.floor(r() * 80000);
        log(t, 'postfix/smtpd', `connect from ${peer.host}[${peer.ip}]`, p);
        log(t + 0.2, 'postfix/smtpd', `${q}: client=${peer.host}[${peer.ip}]`, p);
        const id = marker ? `<${marker}@${sender.split('@')[1]}>` : msgid(t, sender.split('@')[1]);
        log(t + 0.3, 'postfix/cleanup', `${q}: message-id=${id}`, p + 1);
        log(t + 0.4, 'postfix/qmgr', `${q}: from=<${sender}>, size=${size}, nrcpt=1 (queue active)`, 900);
        log(t + 0.5, 'postfix/smtpd', `disconnect from ${peer.host}[${peer.ip}] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7`, p);
        log(t + 0.7, 'postfix/lmtp', `${q}: to=<${rcpt}>, relay=${HOST}[private/dovecot-lmtp], delay=0.5, delays=0.3/0.01/0.05/0.14, dsn=2.0.0, status=sent (250 2.0.0 <${rcpt}> kJ3kA1m2ZGVvBgAA Saved)`, p + 2);
        log(t + 0.8, 'postfix/qmgr', `${q}: removed`, 900);
        manifest.domains[d.name].received.sent++;
        if (marker) manifest.markers.push({ domain: d.name, tab: 'received', msgid: id, sender, mailbox: rcpt, size, status: 'sent', queue_id: q, date: Math.floor(t) });
    };
    const inboundRejected = (t, d, sender, peer) => {
        const p = (pid += 8);
        const rcpt = `nobody${Math.floor(r() * 90) + 10}@${d.name}`;
        log(t, 'postfix/smtpd', `connect from ${peer.host}[${peer.ip}]`, p);
        log(t + 0.3, 'postfix/smtpd', `NOQUEUE: reject: RCPT from ${peer.host}[${peer.ip}]: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown in virtual mailbox table; from=<${sender}> to=<${rcpt}> proto=ESMTP helo=<${peer.host}>`, p);
        log(t + 0.4, 'postfix/smtpd', `disconnect from ${peer.host}[${peer.ip}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4`, p);
        manifest.domains[d.name].received.rejected++;
    };
    const outbound = (t, d, box, rcpt, fate) => {
        const q = qid();
        const p = (pid += 8);
        const from = `${box}@${d.name}`;
        const at = pick(USERS_AT);
        const size = 900 + Math.floor(r() * 40000);
        const mx = pick(PEERS);
        log(t, 'postfix/submission/smtpd', `connect from unknown[${at.ip}]`, p);
        log(t + 0.4, 'postfix/submission/smtpd', `${q}: client=unknown[${at.ip}], sasl_method=PLAIN, sasl_username=${from}`, p);
        log(t + 0.5, 'postfix/cleanup', `${q}: message-id=${msgid(t, d.name)}`, p + 1);
        log(t + 0.6, 'postfix/qmgr', `${q}: from=<${from}>, size=${size}, nrcpt=1 (queue active)`, 900);
        log(t + 0.7, 'postfix/submission/smtpd', `disconnect from unknown[${at.ip}] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8`, p);
        const m = manifest.domains[d.name];
        // The SASL login on the submission port is a mailbox access too.
        m.logins.ok++;
        m.logins.smtp++;
        m.countries_ok[at.cc || 'local'] = (m.countries_ok[at.cc || 'local'] || 0) + 1;
        const relay = `${mx.host}[${mx.ip}]:25`;
        if (fate === 'sent') {
            log(t + 1.5, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=${relay}, delay=1.2, delays=0.6/0.01/0.3/0.3, dsn=2.0.0, status=sent (250 2.0.0 OK 1700000000 x1si123)`, p + 3);
            log(t + 1.6, 'postfix/qmgr', `${q}: removed`, 900);
            m.sent.sent++;
        } else if (fate === 'deferred') {
            log(t + 31, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=${relay}, delay=31, delays=0.6/0.01/30/0, dsn=4.4.1, status=deferred (connect to ${mx.host}[${mx.ip}]:25: Connection timed out)`, p + 3);
            log(t + 1800, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=${relay}, delay=1800, delays=1799/0.01/0.3/0.3, dsn=2.0.0, status=sent (250 2.0.0 Message accepted for delivery)`, p + 4);
            log(t + 1800.1, 'postfix/qmgr', `${q}: removed`, 900);
            m.sent.deferred_then_sent++;
        } else if (fate === 'bounced') {
            const b = qid();
            log(t + 1.5, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=${relay}, delay=1.1, delays=0.6/0.01/0.2/0.3, dsn=5.1.1, status=bounced (host ${mx.host}[${mx.ip}] said: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command))`, p + 3);
            log(t + 1.6, 'postfix/cleanup', `${b}: message-id=<${Math.floor(t)}.${b}@${HOST}.${d.name}>`, p + 1);
            log(t + 1.6, 'postfix/bounce', `${q}: sender non-delivery notification: ${b}`, p + 5);
            log(t + 1.7, 'postfix/qmgr', `${b}: from=<>, size=${2400 + Math.floor(size / 10)}, nrcpt=1 (queue active)`, 900);
            log(t + 1.7, 'postfix/qmgr', `${q}: removed`, 900);
            log(t + 1.9, 'postfix/lmtp', `${b}: to=<${from}>, relay=${HOST}[private/dovecot-lmtp], delay=0.2, delays=0/0.01/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 <${from}> mD3kA1m2ZGVvBgAA Saved)`, p + 2);
            log(t + 2.0, 'postfix/qmgr', `${b}: removed`, 900);
            m.sent.bounced++;
        } else {
            log(t + 31, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=none, delay=31, delays=0.6/0.01/30/0, dsn=4.4.1, status=deferred (connect to ${mx.host}[${mx.ip}]:25: Connection refused)`, p + 3);
            log(t + 3000, 'postfix/qmgr', `${q}: from=<${from}>, status=expired, returned to sender`, 900);
            log(t + 3000.1, 'postfix/qmgr', `${q}: removed`, 900);
            m.sent.expired++;
        }
    };
    const login = (t, d, box, proto, ok, at) => {
        const user = `${box}@${d.name}`;
        const m = manifest.domains[d.name];
        const p = (pid += 8);
        if (proto === 'smtp') {
            if (ok) return; // successful SMTP AUTH: see outbound()
            // Postfix ≥ 3.? names the user; older ones do not, and such a
            // failure belongs to no domain (only the admin sees it).
            if (r() < 0.5) {
                log(t, 'postfix/submission/smtpd', `warning: unknown[${at.ip}]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=${user}`, p);
                m.logins.failed++;
                m.logins.smtp++;
            } else {
                log(t, 'postfix/submission/smtpd', `warning: unknown[${at.ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`, p);
                manifest.failed_logins_without_user++;
            }
            return;
        }
        const svc = `${proto}-login`;
        const sess = Math.floor(r() * 2 ** 40).toString(36);
        if (ok) {
            log(t, 'dovecot', `${svc}: Login: user=<${user}>, method=PLAIN, rip=${at.ip}, lip=10.0.0.5, mpid=${p}, TLS, session=<${sess}>`, 700);
            m.logins.ok++;
            m.countries_ok[at.cc || 'local'] = (m.countries_ok[at.cc || 'local'] || 0) + 1;
        } else {
            log(t, 'dovecot', `${svc}: Disconnected (auth failed, 1 attempts in 2 secs): user=<${user}>, method=PLAIN, rip=${at.ip}, lip=10.0.0.5, TLS, session=<${sess}>`, 700);
            m.logins.failed++;
        }
        m.logins[proto]++;
    };

    // Two hours of slack so that every mail is finished (the latest retry
    // comes 3000 s after its mail) before END: no line is in the future.
    const start = a.end - a.hours * 3600 - 7200;
    for (let h = 0; h < a.hours; h++) {
        const n = Math.max(1, Math.round(a.rate * (0.5 + r())));
        for (let i = 0; i < n; i++) {
            const t = start + h * 3600 + Math.floor(r() * 3500);
            const d = pick(DOMAINS);
            const box = pick(d.boxes);
            const x = r();
            if (x < 0.35) inbound(t, d, box, pick(REMOTE), pick(PEERS));
            else if (x < 0.42) inboundRejected(t, d, pick(REMOTE), pick(PEERS));
            else if (x < 0.62) outbound(t, d, box, pick(REMOTE), 'sent');
            else if (x < 0.66) outbound(t, d, box, pick(REMOTE), 'deferred');
            else if (x < 0.70) outbound(t, d, box, `nosuchuser@${pick(REMOTE).split('@')[1]}`, 'bounced');
            else if (x < 0.71) outbound(t, d, box, pick(REMOTE), 'expired');
            else if (x < 0.90) login(t, d, box, r() < 0.7 ? 'imap' : 'pop3', true, r() < 0.9 ? pick(USERS_AT) : pick(SUSPICIOUS));
            else if (x < 0.96) login(t, d, box, r() < 0.7 ? 'imap' : 'pop3', false, pick(SUSPICIOUS.concat(USERS_AT)));
            else login(t, d, box, 'smtp', false, pick(SUSPICIOUS));
        }
    }
    // Markers: one known mail per domain, an hour before the end, so a test
    // (or a person) can search for them.
    DOMAINS.forEach((d, i) => inbound(a.end - 3600 + i * 60, d, d.boxes[0], `marker-${i}@partner-uk.test`, PEERS[0], `marker-${d.name}-${a.seed}`));
    // A contact form on each domain's web site, sent by PHP's mail() through
    // sendmail: pickup names the webspace's system user by uid only, and the
    // sender is that user at the server's name, or whatever the script set
    // (example.net's site claims an example.org address).
    DOMAINS.forEach((d, i) => {
        const t = a.end - 3000 + i * 60;
        const q = qid();
        const p = (pid += 8);
        const from = d.name === 'example.net' ? 'noreply@example.org' : `${d.sysuser}@${HOST}.hosting.test`;
        const rcpt = `visitor${i}@partner-uk.test`;
        const mx = PEERS[0];
        const id = `<webform-${d.name}-${a.seed}@${HOST}.hosting.test>`;
        log(t, 'postfix/pickup', `${q}: uid=${d.sysuser_uid} from=<${from.endsWith(`@${HOST}.hosting.test`) ? d.sysuser : from}>`, p);
        log(t + 0.1, 'postfix/cleanup', `${q}: message-id=${id}`, p + 1);
        log(t + 0.2, 'postfix/qmgr', `${q}: from=<${from}>, size=1843, nrcpt=1 (queue active)`, 900);
        log(t + 1.2, 'postfix/smtp', `${q}: to=<${rcpt}>, relay=${mx.host}[${mx.ip}]:25, delay=1.1, delays=0.2/0.01/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)`, p + 3);
        log(t + 1.3, 'postfix/qmgr', `${q}: removed`, 900);
        manifest.domains[d.name].sent.sent++;
        manifest.webforms.push({ domain: d.name, msgid: id, sender: from, recipient: rcpt, queue_id: q, date: Math.floor(t) });
    });

    lines.sort((x, y) => x.t - y.t);
    fs.mkdirSync(a.out, { recursive: true });
    fs.writeFileSync(path.join(a.out, 'mail.log'), lines.map((l) => l.s + '\n').join(''));
    fs.writeFileSync(
        path.join(a.out, 'domains.json'),
        JSON.stringify(DOMAINS.map(({ name, owner_email, client, reseller, sysuser_uid }) => ({ name, owner_email, client, reseller, sysuser_uid, main: true })), null, 1) + '\n',
    );
    fs.writeFileSync(path.join(a.out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
    process.stdout.write(`demo-log: ${lines.length} lines, ${DOMAINS.length} domains → ${a.out}/mail.log\n`);
}

main();
