// run.mjs — browser tests of the Mail log UI (make check-browser).
//
// Starts the real thing with scripts/demo.sh --background: lighttpd on
// 127.0.0.1, maillog.cgi, a database ingested from a generated log
// (scripts/demo-log.mjs, fixed seed; its manifest.json is the ground truth),
// then drives Debian's /usr/bin/chromium through playwright-core as the
// admin, a reseller and a client: every tab, search, sort (the server's
// order shown as is), paging, filters, CSV download, message trace, the
// overview chart, long addresses at 1280 and 800 pixels, settings with a
// validation error, the client's scope, hidden/read-only configuration,
// error states with Retry, keyboard-only use, and no console errors. Screenshots of every screen at 1280×800 go to
// tests/browser/screenshots/ (not committed).
//
// Output is TAP-like ("ok N - name" / "not ok N - name"); exit status 1 when
// a test failed. Environment (development): BROWSER_KEEP=1 leaves the server
// running; BROWSER_ONLY=REGEX runs the matching tests only; BROWSER_BASE=URL
// with BROWSER_DEMO_DIR=DIR uses a server that is already running.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const demoDir = process.env.BROWSER_DEMO_DIR || path.join(top, 'build/browser-demo');
const shots = path.join(here, 'screenshots');
const SEED = 7;
const TZ = 'America/New_York'; // the viewer's zone: times must be shown in it
const USERS = {
    admin: { password: 'admin', domains: ['example.com', 'example.net', 'example.org'] },
    res1: { password: 'res1', domains: ['example.com', 'example.net'] },
    cli1: { password: 'cli1', domains: ['example.com'] },
};
const TAB_TITLES = {
    access: 'Mailbox access logs',
    received: 'Emails received',
    sent: 'Emails sent',
    'not-received': 'Emails not received',
    'not-sent': 'Emails not sent',
    config: 'Configuration',
};
const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

// ---------------------------------------------------------------- harness

const results = [];
let current = null;
async function test(name, fn) {
    if (process.env.BROWSER_ONLY && !new RegExp(process.env.BROWSER_ONLY).test(name)) return;
    const n = results.length + 1;
    current = { name, consoleErrors: [] };
    const t0 = Date.now();
    try {
        await fn();
        results.push({ name, ok: true });
        console.log(`ok ${n} - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
        results.push({ name, ok: false });
        console.log(`not ok ${n} - ${name}\n  ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n  ')}`);
    }
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

// One browser per role: a persistent context on a fresh profile directory,
// with the role's HTTP auth credentials. Console errors and page errors are
// recorded; `allow` lists expected "Failed to load resource" statuses (the
// 4xx/5xx answers a test provokes on purpose), `allowNet` expected network
// errors (net::ERR_…, a server made unreachable on purpose).
async function openAs(user, base) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'maillog-chromium-'));
    const ctx = await chromium.launchPersistentContext(profile, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 800 },
        httpCredentials: { username: user, password: USERS[user].password },
        timezoneId: TZ,
        locale: 'en-US',
        acceptDownloads: true,
        timeout: 30000,
    });
    ctx.setDefaultTimeout(10000);
    const role = { user, ctx, errors: [], allow: new Set(), allowNet: new Set(), base };
    ctx.on('page', (p) => watch(p, role));
    const page = ctx.pages()[0] || (await ctx.newPage());
    watch(page, role);
    role.page = page;
    role.close = async () => {
        await ctx.close();
        fs.rmSync(profile, { recursive: true, force: true });
    };
    return role;
}

function watch(page, role) {
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const t = m.text();
        const st = t.match(/status of (\d{3})/);
        if (st && role.allow.has(Number(st[1]))) return;
        if ([...role.allowNet].some((n) => t.includes(n))) return;
        role.errors.push(`console: ${t}`);
    });
    page.on('pageerror', (e) => role.errors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => {
        // A download navigates away from nothing; a reload cancels what the
        // page it replaces was still loading (net::ERR_ABORTED, no server
        // involved); everything else must load.
        const why = r.failure() && r.failure().errorText;
        if (!/format=csv/.test(r.url()) && why !== 'net::ERR_ABORTED' && !role.allowNet.has(why)) role.errors.push(`request failed: ${r.url()} ${why}`);
    });
    page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.hostname !== '127.0.0.1' && u.protocol !== 'data:' && u.protocol !== 'blob:')
            role.errors.push(`off-host request: ${r.url()}`);
    });
}

// Answers a routed request with the server's answer, changed by edit(json).
// route.fetch() goes through Playwright's own HTTP client, which reuses kept-
// alive connections: one that lighttpd closes as idle at that very moment
// answers ECONNRESET, and a browser would simply try again, so this does too.
// A request that still fails is aborted (the test then fails on what the page
// shows) instead of throwing in the route handler, which kills the whole run.
async function fulfillEdited(route, edit) {
    for (let attempt = 1; ; attempt++) {
        try {
            const res = await route.fetch();
            return await route.fulfill({ response: res, json: edit(await res.json()) });
        } catch (e) {
            if (attempt < 3 && /ECONNRESET|socket hang up|ECONNREFUSED/.test(String(e))) continue;
            console.error(`route ${route.request().url()}: ${e}`);
            return route.abort('failed').catch(() => {});
        }
    }
}

// The sqlite3 shell on the demo database. maillog.cgi opens it read-write,
// and the last connection to close checkpoints the WAL under a brief lock:
// without a busy timeout the shell would fail at once with "database is
// locked" while a page's requests finish.
function sqlite(db, statements) {
    return execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, ...statements]);
}

function noErrors(role) {
    const e = role.errors.splice(0);
    assert.deepEqual(e, [], `${role.user}: console errors`);
}

async function shot(page, name) {
    await page.waitForTimeout(150); // let transitions settle
    await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

// The table of the visible list tab as [{Header: text}], plus row ids.
async function table(page) {
    return page.evaluate(() => {
        const root = document.querySelector('.ml-listtab');
        if (!root) return null;
        const heads = [...root.querySelectorAll('thead th')].map((th) => th.textContent.trim());
        return [...root.querySelectorAll('tbody tr[data-row-id]')].map((tr) => {
            const o = { _id: tr.getAttribute('data-row-id') };
            [...tr.children].forEach((td, i) => (o[heads[i]] = td.textContent.trim()));
            return o;
        });
    });
}

async function counts(page) {
    const t = await page.getByTestId('count').textContent();
    const m = t.match(/(\d+) of (\d+)/);
    assert.ok(m, `count text: ${t}`);
    return { shown: Number(m[1]), total: Number(m[2]) };
}

// Runs action and waits for the list answer it causes, then for React.
// Picks one option of the form's searchable multi-select "label" by typing
// `typed`, then closes the option list (it lies over the fields below it).
// Under load a single Escape can arrive before the select has focus again, so
// the list is closed by a click outside it and awaited.
async function chooseOption(page, form, label, typed, option) {
    const field = form.locator('.pul-form-field', { hasText: label });
    await field.locator('[role="combobox"], input').first().click();
    await page.keyboard.type(typed);
    await page.getByRole('option', { name: option }).click();
    await page.keyboard.press('Escape');
    await page.mouse.click(2, 2);
    await page.getByRole('option').first().waitFor({ state: 'hidden' });
}

async function listLoad(page, tab, action) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(`/v1/${tab}`) && r.request().method() === 'GET'),
        action(),
    ]);
    if (res.status() !== 200) assert.fail(`GET ${res.url()} answered ${res.status()}: ${await res.text()}`);
    const body = await res.json();
    await page.locator(`.ml-listtab[data-tab="${tab}"][data-loading="false"]`).waitFor();
    return body;
}

async function openTab(page, id) {
    const tab = page.getByRole('tab', { name: TAB_TITLES[id], exact: true });
    if ((await tab.getAttribute('aria-selected')) === 'true' && id !== 'config') {
        // Already open: go through another tab so that the list loads afresh.
        const other = id === 'access' ? 'received' : 'access';
        await listLoad(page, other, () => page.getByRole('tab', { name: TAB_TITLES[other], exact: true }).click());
    }
    if (id === 'config') {
        await tab.click();
        await page.getByTestId('config').or(page.getByText('Choose a domain')).first().waitFor();
        return null;
    }
    return listLoad(page, id, () => tab.click());
}

async function tabNames(page) {
    return page.getByRole('tab').allTextContents();
}

const pad = (n) => String(n).padStart(2, '0');
function localIn(tz, epoch) {
    const parts = Object.fromEntries(
        new Intl.DateTimeFormat('en-US', {
            timeZone: tz,
            hourCycle: 'h23',
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
        })
            .formatToParts(new Date(epoch * 1000))
            .map((p) => [p.type, p.value]),
    );
    return `${parts.year}-${parts.month}-${parts.day} ${pad(Number(parts.hour))}:${parts.minute}:${parts.second}`;
}

// A request made by the role's browser (its credentials), outside the UI.
async function apiAs(role, method, route, body) {
    const url = (r) => `${role.base}cgi-bin/maillog.cgi/v1${r}`;
    // A fresh connection each time: a kept-alive one may be closed by
    // lighttpd's idle timeout just as the request goes out (ECONNRESET).
    const headers = { 'Content-Type': 'application/json', Connection: 'close' };
    if (method !== 'GET') {
        const me = await role.ctx.request.get(url('/me'), { headers: { Connection: 'close' } });
        if (me.ok()) headers['X-Maillog-Csrf'] = (await me.json()).csrf_token;
    }
    const r = await role.ctx.request.fetch(url(route), {
        method,
        headers,
        data: body === undefined ? undefined : JSON.stringify(body),
    });
    let j = null;
    try {
        j = await r.json();
    } catch {
        j = null;
    }
    return { status: r.status(), body: j };
}

// How the UI words an API validation message under its field: without the
// internal field name, as a sentence ("retention_days: must be …" → "Must be ….").
function fieldText(err) {
    let m = err.message.startsWith(`${err.field}:`) ? err.message.slice(err.field.length + 1).trim() : err.message;
    m = m.charAt(0).toUpperCase() + m.slice(1);
    return /[.!?)]$/.test(m) ? m : `${m}.`;
}

// Appends lines to the demo's mail log the way syslog would and runs the
// next ingest, as the analysis cron does.
function ingestLines(lines) {
    fs.appendFileSync(path.join(demoDir, 'mail.log'), lines.join('\n') + '\n');
    execFileSync(path.join(top, 'build/maillog'), ['ingest', '--quiet', '--config', path.join(demoDir, 'maillog.ini')], { stdio: 'inherit' });
}

// The horizontal overflow of the visible list: how far its table and its
// last header cell reach beyond the list's box and the window.
async function listFit(page) {
    return page.evaluate(() => {
        const root = [...document.querySelectorAll('.ml-listtab')].find((e) => e.offsetParent !== null);
        const table = root.querySelector('table');
        const ths = [...root.querySelectorAll('thead th')];
        const last = ths[ths.length - 1].getBoundingClientRect();
        return {
            tableOverflow: table.scrollWidth - table.parentElement.clientWidth,
            lastRight: Math.round(last.right),
            window: document.documentElement.clientWidth,
            pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            widths: Object.fromEntries(ths.map((th) => [th.textContent.trim(), Math.round(th.getBoundingClientRect().width)])),
        };
    });
}

async function setAdmin(admin, patch) {
    const cur = await apiAs(admin, 'GET', '/settings');
    assert.equal(cur.status, 200);
    const res = await apiAs(admin, 'PUT', '/settings', { ...cur.body, ...patch });
    assert.equal(res.status, 200, `PUT /v1/settings ${JSON.stringify(res.body)}`);
}

// ---------------------------------------------------------------- the run

async function main() {
    fs.rmSync(shots, { recursive: true, force: true });
    fs.mkdirSync(shots, { recursive: true });
    const demo = path.join(top, 'scripts/demo.sh');
    let base = process.env.BROWSER_BASE; // development: a server already running on demoDir
    if (!base) {
        const port = await freePort();
        // Data up to the last full hour, so that the tabs' default views hold it.
        const end = Math.floor(Date.now() / 1000 / 3600) * 3600;
        execFileSync(demo, ['--dir', demoDir, '--sample', '--seed', String(SEED), '--end', String(end), '--port', String(port), '--background', '--no-build'], {
            stdio: ['ignore', 'inherit', 'inherit'],
            timeout: 120000,
        });
        base = `http://127.0.0.1:${port}/`;
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(demoDir, 'manifest.json'), 'utf8'));
    const logLines = fs.readFileSync(path.join(demoDir, 'mail.log'), 'utf8').split('\n').filter(Boolean);
    const haveGeo = fs.existsSync(path.join(top, 'build/geoip/country.mmdb'));
    const sum = (f) => Object.values(manifest.domains).reduce((s, d) => s + f(d), 0);
    const marker = (d) => manifest.markers.find((m) => m.domain === d);
    const roles = [];
    try {
        await suite({ base, manifest, logLines, haveGeo, sum, marker, roles });
    } finally {
        for (const r of roles) await r.close().catch(() => {});
        if (!process.env.BROWSER_KEEP && !process.env.BROWSER_BASE) execFileSync(demo, ['--stop', '--dir', demoDir], { stdio: 'inherit' });
        else console.log(`# server left running at ${base}`);
    }
    const failed = results.filter((r) => !r.ok).length;
    console.log(`1..${results.length}\n# ${results.length - failed} passed, ${failed} failed; screenshots in ${path.relative(top, shots)}/`);
    process.exit(failed ? 1 : 0);
}

async function suite({ base, manifest, logLines, haveGeo, sum, marker, roles }) {
    const admin = await openAs('admin', base);
    roles.push(admin);
    const ap = admin.page;
    const mCom = marker('example.com');
    const mNet = marker('example.net');

    await test('admin: page loads, identity and every domain in the selector', async () => {
        await listLoad(ap, 'access', () => ap.goto(base));
        assert.match(await ap.getByTestId('whoami').textContent(), /admin \(admin\)/);
        const opts = await ap.getByTestId('domain-select').locator('option').allTextContents();
        assert.deepEqual(opts, ['All domains', ...USERS.admin.domains]);
        assert.deepEqual(await tabNames(ap), Object.values(TAB_TITLES));
        noErrors(admin);
    });

    await test('admin: overview totals and chart come from /v1/stats', async () => {
        await ap.getByTestId('overview').waitFor();
        const logins = Number(await ap.locator('[data-total="access_ok"] strong').textContent());
        assert.equal(logins, sum((d) => d.logins.ok), 'successful logins in the overview = logins generated');
        const failed = Number(await ap.locator('[data-total="access_failed"] strong').textContent());
        assert.equal(failed, sum((d) => d.logins.failed) + manifest.failed_logins_without_user, 'failed logins in the overview (the admin also sees those without a user)');
        assert.ok((await ap.locator('.ml-chart rect').count()) > 0, 'chart has bars');
        // The tiles say their period, and that "not received" is a part of "received".
        assert.match(await ap.getByTestId('totals-period').textContent(), /^Last 7 days/);
        // and how far back the tabs go (the demo keeps every generated day)
        const kept = (await apiAs(admin, 'GET', '/settings')).body.retention_days;
        assert.match(await ap.getByTestId('totals-period').textContent(), new RegExp(`the tabs below hold the last ${kept} days \\(records older are deleted\\)$`));
        assert.equal(await ap.locator('[data-total="received"] span').textContent(), 'Received (all)');
        assert.equal(await ap.locator('[data-total="not_received"] span').textContent(), 'of which not received');
        await shot(ap, 'admin-overview');
    });

    await test('admin: the charts fold away and stay folded after a reload; the totals stay', async () => {
        const toggle = ap.getByTestId('charts-toggle');
        const tabsTop = async () => (await ap.getByRole('tablist').first().boundingBox()).y;
        const before = await tabsTop();
        assert.equal(await toggle.textContent(), 'Hide charts');
        await toggle.click();
        try {
            assert.equal(await ap.getByTestId('overview-panels').isVisible(), false, 'charts hidden');
            assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
            assert.ok((await tabsTop()) < before - 100, 'the lists come up the page');
            assert.ok(await ap.locator('[data-total="received"]').isVisible(), 'the totals stay');
            await listLoad(ap, 'access', () => ap.reload());
            assert.equal(await ap.getByTestId('overview-panels').isVisible(), false, 'still hidden after a reload');
            assert.equal(await toggle.textContent(), 'Show charts');
        } finally {
            if ((await toggle.textContent()) === 'Show charts') await toggle.click();
        }
        assert.ok(await ap.getByTestId('overview-panels').isVisible(), 'shown again');
        await listLoad(ap, 'access', () => ap.reload());
        assert.ok(await ap.getByTestId('overview-panels').isVisible(), 'and after a reload');
    });

    await test('admin: the chart places bars by time over the whole period, quiet hours as gaps', async () => {
        // Two busy hours (days) with nothing between: the API leaves the
        // empty buckets out; the chart must still put each bar at its time.
        const page = await admin.ctx.newPage();
        const asked = [];
        await page.route(/\/v1\/stats\?/, async (route) => {
            const u = new URL(route.request().url());
            const from = Number(u.searchParams.get('from'));
            const to = Number(u.searchParams.get('to'));
            const size = u.searchParams.get('bucket') === 'day' ? 86400 : 3600;
            asked.push({ from, to, size });
            const first = Math.floor(from / size) * size;
            await fulfillEdited(route, (body) => ({
                ...body,
                buckets: [
                    { t: first + 2 * size, sent: 5, deferred: 0, bounced: 0, expired: 0, rejected: 1, discarded: 0 },
                    { t: first + 5 * size, sent: 2, deferred: 0, bounced: 0, expired: 0, rejected: 0, discarded: 0 },
                ],
            }));
        });
        try {
            for (const bucket of ['day', 'hour']) {
                const [res] = await Promise.all([
                    page.waitForResponse((r) => /\/v1\/stats\?/.test(r.url()) && r.url().includes(`bucket=${bucket}`)),
                    bucket === 'day' ? page.goto(base) : page.getByRole('button', { name: 'Hours' }).click(),
                ]);
                assert.equal(res.status(), 200);
                const { from, to, size } = asked[asked.length - 1];
                assert.ok(from > 0 && to > from, `the period is asked for explicitly: ${res.url()}`);
                const slots = Math.floor((to - 1) / size) - Math.floor(from / size) + 1;
                assert.ok(slots >= 7, `${bucket}: ${slots} slots`);
                const chart = page.getByTestId('mail-chart');
                await page.waitForFunction((b) => document.querySelector('[data-testid="mail-chart"]')?.getAttribute('aria-label')?.includes(`per ${b}`), bucket);
                // x of the first bar of each bucket, in SVG units (width 640, left pad 34, right 8)
                const xs = await chart.locator('g.ml-bucket').evaluateAll((gs) => gs.map((g) => Number(g.querySelector('rect').getAttribute('x'))));
                assert.equal(xs.length, 2);
                const slotWidth = (640 - 34 - 8) / slots;
                assert.ok(Math.abs(xs[1] - xs[0] - 3 * slotWidth) < 0.01, `${bucket}: bars 3 slots apart (${xs}, slot ${slotWidth})`);
                assert.ok(Math.abs(xs[0] - (34 + 2 * slotWidth)) < 1.01, `${bucket}: first bar in slot 2 (${xs[0]})`);
                // Axis labels are days, in time order, spread over the whole width.
                const labels = await chart.locator('.ml-tick text').evaluateAll((ts) => ts.map((t) => ({ x: Number(t.getAttribute('x')), text: t.textContent })));
                assert.ok(labels.length >= 3, `${bucket}: ${JSON.stringify(labels)}`);
                for (const l of labels) assert.match(l.text, /^\d\d-\d\d$/);
                for (let i = 1; i < labels.length; i++) assert.ok(labels[i].x > labels[i - 1].x, JSON.stringify(labels));
                assert.ok(labels[labels.length - 1].x > 640 / 2, `${bucket}: labels reach the right half: ${JSON.stringify(labels)}`);
                await page.getByTestId('overview').screenshot({ path: path.join(shots, `admin-chart-gaps-${bucket}.png`) });
            }
        } finally {
            await page.close();
        }
        noErrors(admin);
    });

    await test('admin: the overview says how current the analysis is, and warns when it stopped', async () => {
        const fresh = ap.getByTestId('freshness');
        const text = await fresh.textContent();
        const m = text.match(/analysed up to (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/);
        assert.ok(m, text);
        assert.ok(text.includes(`(times shown in ${TZ})`), `the viewer's zone is said: ${text}`);
        const db = path.join(demoDir, 'maillog.db');
        const saved = sqlite(db, ['SELECT read_to FROM read_mark']).toString().trim();
        // the demo's ingest started a few minutes ago at most, and the page
        // shows its time in the browser's zone (compared as text: parsing a
        // local time back is ambiguous in the repeated hour of autumn)
        if (!process.env.BROWSER_BASE) {
            assert.ok(Math.abs(Date.now() / 1000 - Number(saved)) < 15 * 60, `read_to ${saved} is not the demo's ingest time`);
            assert.equal(m[1], localIn(TZ, Number(saved)));
        }
        assert.equal(await fresh.evaluate((el) => el.classList.contains('ml-freshness')), true, 'no warning');
        try {
            // the analysis cron stopped an hour ago
            sqlite(db, [`UPDATE read_mark SET read_to = ${Math.floor(Date.now() / 1000) - 3600}`]);
            await listLoad(ap, 'access', () => ap.reload());
            assert.match(await fresh.textContent(), /is the analysis cron running\?/);
            // and never ran
            sqlite(db, ['DELETE FROM read_mark']);
            await listLoad(ap, 'access', () => ap.reload());
            assert.match(await fresh.textContent(), /has not been analysed yet/);
        } finally {
            sqlite(db, [`INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ${Number(saved)})`]);
        }
        await listLoad(ap, 'access', () => ap.reload());
        assert.equal(await fresh.evaluate((el) => el.classList.contains('ml-freshness')), true);
    });

    await test('admin: the overview warns when the GeoIP database cannot be read', async () => {
        const ini = path.join(demoDir, 'maillog.ini');
        const saved = fs.readFileSync(ini, 'utf8');
        const warning = ap.getByTestId('geoip-problem');
        if (haveGeo) assert.equal(await warning.count(), 0, 'no warning with the demo database');
        try {
            fs.writeFileSync(ini, saved.replace(/^geoip = .*$/m, 'geoip = /nonexistent/country.mmdb'));
            await listLoad(ap, 'access', () => ap.reload());
            assert.match(await warning.textContent(), /cannot be read \(.*\/nonexistent\/country\.mmdb.*reports cannot judge them/);
        } finally {
            fs.writeFileSync(ini, saved);
        }
        await listLoad(ap, 'access', () => ap.reload());
        if (haveGeo) assert.equal(await warning.count(), 0);
    });

    await test('admin: every tab opens, lists rows, and is screenshotted', async () => {
        for (const id of Object.keys(TAB_TITLES)) {
            const res = await openTab(ap, id);
            if (res) {
                assert.ok(res.total > 0, `${id}: total > 0`);
                const rows = await table(ap);
                assert.equal(rows.length, Math.min(50, res.total), `${id}: first page rows`);
            }
            await shot(ap, `admin-tab-${id}`);
        }
        noErrors(admin);
    });

    await test('admin: the status reason is whole in the tooltip; rejected mails show no internal number', async () => {
        const res = await openTab(ap, 'not-received');
        const withText = res.rows.filter((r) => r.status_text);
        assert.ok(withText.length > 0, 'rows with a status reason');
        const titles = await ap.getByTestId('status-text').evaluateAll((els) => els.map((e) => e.getAttribute('title')));
        for (const r of withText) assert.ok(titles.some((t) => t.endsWith(r.status_text)), `tooltip holds: ${r.status_text}`);
        // And the reason itself is on screen: the cell wraps instead of cutting after the address.
        const cut = await ap.getByTestId('status-text').first().evaluate((el) => ({ w: el.scrollWidth - el.clientWidth, h: el.scrollHeight - el.clientHeight }));
        assert.ok(cut.w <= 1 && cut.h <= 1, `the first reason is whole on screen (${JSON.stringify(cut)})`);
        const ids = await ap.getByTestId('open-trace').allTextContents();
        assert.ok(ids.every((t) => !/^#\d+$/.test(t.trim())), `no internal number as Message ID: ${ids.join(', ')}`);
        if (res.rows.some((r) => r.status === 'rejected' && !r.msgid))
            assert.ok(ids.includes('(rejected before queueing)'), 'rejected mails say so');
    });

    await test('admin: a failed mail says why in plain words, beside the server\'s answer, in the list and the trace', async () => {
        // The generated log's answers (scripts/demo-log.mjs): an unknown
        // recipient (550 5.1.1 … User unknown) and an unreachable server
        // (connect to …: Connection timed out / refused).
        const expected = [
            [/User unknown/, /does not exist/],
            [/connect to .*Connection (timed out|refused)/, /could not be reached/],
        ];
        for (const tabId of ['not-received', 'not-sent']) {
            const res = await openTab(ap, tabId);
            const cells = await ap.getByTestId('status-text').evaluateAll((els) =>
                els.map((e) => ({ reason: e.querySelector('[data-testid="reason"]')?.textContent || '', text: e.textContent })),
            );
            let checked = 0;
            for (const [answer, words] of expected)
                for (const [i, r] of res.rows.entries()) {
                    if (!answer.test(r.status_text)) continue;
                    assert.match(cells[i].reason, words, `${tabId} row ${i}: "${r.status_text}" says "${cells[i].reason}"`);
                    assert.ok(cells[i].text.includes(r.status_text), 'the server\'s answer is still shown');
                    checked++;
                }
            assert.ok(checked > 0, `${tabId}: rows with a known answer`);
        }
        const res = await openTab(ap, 'not-sent');
        const i = res.rows.findIndex((r) => /User unknown/.test(r.status_text));
        assert.ok(i >= 0, 'a bounced mail to an unknown recipient');
        await ap.getByTestId('open-trace').nth(i).click();
        await ap.getByTestId('trace-reason').first().waitFor();
        assert.match(await ap.getByTestId('trace-reason').first().textContent(), /does not exist/);
        await ap.waitForTimeout(500); // the drawer's slide-in, for the picture
        await shot(ap, 'admin-trace-reason');
        await ap.keyboard.press('Escape');
        await ap.getByTestId('trace').waitFor({ state: 'detached' });
    });

    await test('admin: a capped total says "1000+" at the top and the bottom', async () => {
        await ap.route(/\/v1\/received\?/, (route) => fulfillEdited(route, (j) => ({ ...j, total: 1000, total_capped: true })));
        try {
            await listLoad(ap, 'access', () => ap.reload());
            await openTab(ap, 'received');
            const text = await ap.locator('.ml-listtab[data-tab="received"]').textContent();
            assert.match(text, /1000\+ items total/);
            assert.ok(!/1000 items total/.test(text), text);
            assert.match(await ap.getByTestId('count').textContent(), /of 1000\+ shown/);
        } finally {
            await ap.unroute(/\/v1\/received\?/);
        }
        noErrors(admin);
    });

    await test('admin: access tab shows every generated login, countries as code + name', async () => {
        const res = await openTab(ap, 'access');
        assert.equal(res.total, sum((d) => d.logins.ok + d.logins.failed) + manifest.failed_logins_without_user, 'access total = logins generated');
        if (haveGeo) {
            await listLoad(ap, 'access', async () => {
                await ap.getByTestId('search').fill('81.2.69.160');
                await ap.getByTestId('search').press('Enter');
            });
            const rows = await table(ap);
            assert.ok(rows.length > 0, 'logins from 81.2.69.160');
            for (const r of rows) assert.equal(r.Country, 'GB United Kingdom');
            await listLoad(ap, 'access', async () => {
                await ap.getByTestId('search').fill('192.168.1.20');
                await ap.getByTestId('search').press('Enter');
            });
            for (const r of await table(ap)) assert.equal(r.Country, 'local', 'private address shown as local');
        }
    });

    await test('admin: search with Enter finds the marker mail, local time and human size', async () => {
        await openTab(ap, 'received');
        const res = await listLoad(ap, 'received', async () => {
            await ap.getByTestId('search').fill(mCom.msgid.slice(1, -1));
            await ap.getByTestId('search').press('Enter');
        });
        assert.equal(res.total, 1);
        const [row] = await table(ap);
        assert.equal(row.Sender, mCom.sender);
        assert.equal(row.Mailbox, mCom.mailbox);
        assert.equal(row.Date, localIn(TZ, mCom.date), `date in ${TZ}`);
        const kb = mCom.size / 1024;
        assert.equal(row.Size, `${kb < 10 ? kb.toFixed(1) : Math.round(kb)} KB`);
        assert.match(row.Status, /delivered/); /* Postfix's "sent", as people say it */
        await shot(ap, 'admin-search');
    });

    await test('admin: a click on a row opens the message trace', async () => {
        const [res] = await Promise.all([
            ap.waitForResponse((r) => /\/v1\/messages\//.test(r.url())),
            ap.locator('.ml-listtab tbody tr[data-row-id]').first().locator('td').first().click(),
        ]);
        assert.equal(res.status(), 200);
        const trace = ap.getByTestId('trace');
        await trace.getByTestId('trace-lines').waitFor();
        const text = await trace.textContent();
        assert.ok(text.includes(mCom.queue_id), 'queue id in the trace');
        assert.ok(text.includes(mCom.mailbox), 'recipient in the trace');
        const lines = (await trace.getByTestId('trace-lines').textContent()).split('\n');
        const expected = logLines.filter((l) => l.includes(`${mCom.queue_id}:`));
        for (const l of expected) assert.ok(lines.some((x) => l.includes(x) || x.includes(l.slice(l.indexOf('postfix')))), `raw line shown: ${l}`);
        // The details (the reason) have room to be read, at 1280 and 800 pixels.
        try {
            for (const width of [1280, 800]) {
                await ap.setViewportSize({ width, height: 800 });
                await ap.waitForTimeout(100);
                const w = await trace.locator('td.ml-col-details').first().evaluate((el) => el.getBoundingClientRect().width);
                assert.ok(w >= 200, `${width}px: Details column ${w}px wide`);
            }
        } finally {
            await ap.setViewportSize({ width: 1280, height: 800 });
        }
        await shot(ap, 'admin-trace');
        await ap.keyboard.press('Escape');
        await trace.waitFor({ state: 'detached' });
    });

    await test('admin: the trace opens a related message (the bounce notification) and goes back', async () => {
        const note = logLines.map((l) => l.match(/ ([0-9A-F]{6,}): sender non-delivery notification: ([0-9A-F]{6,})/)).find(Boolean);
        assert.ok(note, 'the sample log has a bounce notification');
        const [, original, bounce] = note;
        await openTab(ap, 'not-sent');
        const res = await listLoad(ap, 'not-sent', async () => {
            await ap.getByTestId('search').fill(original);
            await ap.getByTestId('search').press('Enter');
        });
        assert.equal(res.total, 1, `the bounced mail ${original} in Not sent`);
        await Promise.all([
            ap.waitForResponse((r) => /\/v1\/messages\//.test(r.url())),
            ap.locator('.ml-listtab tbody tr[data-row-id]').first().locator('td').first().click(),
        ]);
        const trace = ap.getByTestId('trace');
        const related = trace.getByTestId('trace-related');
        await related.first().waitFor();
        assert.equal((await related.first().textContent()).trim(), `queue ${bounce}`);
        await Promise.all([ap.waitForResponse((r) => /\/v1\/messages\//.test(r.url())), related.first().click()]);
        await trace.getByTestId('trace-back').waitFor();
        await trace.getByTestId('trace-lines').waitFor();
        const shown = await trace.getByTestId('trace-lines').textContent();
        assert.ok(shown.includes(`${bounce}: to=<`), 'the notification\'s own lines');
        assert.ok(!shown.includes(`${original}: to=<`), 'not the bounced mail\'s');
        await Promise.all([ap.waitForResponse((r) => /\/v1\/messages\//.test(r.url())), trace.getByTestId('trace-back').click()]);
        await trace.getByTestId('trace-lines').waitFor();
        assert.ok((await trace.getByTestId('trace-lines').textContent()).includes(`${original}: to=<`), 'Back shows the bounced mail again');
        assert.equal(await trace.getByTestId('trace-back').count(), 0);
        await ap.keyboard.press('Escape');
        await trace.waitFor({ state: 'detached' });
        // as the tests after this one expect it: Received, searched for the marker
        await openTab(ap, 'received');
        await listLoad(ap, 'received', async () => {
            await ap.getByTestId('search').fill(mCom.msgid.slice(1, -1));
            await ap.getByTestId('search').press('Enter');
        });
    });

    await test('admin: sort by a column, both directions', async () => {
        await listLoad(ap, 'received', async () => {
            await ap.getByTestId('search').fill('');
            await ap.getByTestId('search').press('Enter');
        });
        const col = ap.locator('.ml-listtab thead th', { hasText: 'Sender' });
        // The API's values (the null sender is "", shown as "<>"), in the order shown.
        const shownSenders = async (res) => {
            const byId = new Map(res.rows.map((r) => [String(r.id), r.sender]));
            return (await table(ap)).map((r) => byId.get(r._id));
        };
        const resA = await listLoad(ap, 'received', () => col.click());
        const asc = await shownSenders(resA);
        assert.deepEqual(asc, [...asc].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'ascending by sender');
        assert.equal(await col.getAttribute('aria-sort'), 'ascending');
        const resD = await listLoad(ap, 'received', () => col.click());
        const desc = await shownSenders(resD);
        assert.deepEqual(desc, [...desc].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)), 'descending by sender');
        assert.notDeepEqual(asc, desc);
    });

    await test("admin: sorting shows the server's order as is (status by severity), every tab and column", async () => {
        // The API sorts status by severity and result failed-first, not by
        // the text in the cell: the list must not re-sort a page itself.
        const cases = [
            ['received', 'Status'],
            ['not-sent', 'Status error'],
            ['not-received', 'Status error'],
            ['access', 'Result'],
            ['access', 'Protocol'],
            ['sent', 'Size'],
        ];
        for (const [id, title] of cases) {
            await openTab(ap, id);
            const col = ap.locator('.ml-listtab thead th', { hasText: title });
            for (const dir of ['ascending', 'descending']) {
                const res = await listLoad(ap, id, () => col.click());
                assert.equal(await col.getAttribute('aria-sort'), dir, `${id} ${title}`);
                const shown = (await table(ap)).map((r) => r._id);
                assert.deepEqual(shown, res.rows.map((r) => String(r.id)), `${id} by ${title} ${dir}: rows in the API's order`);
            }
        }
        // Status descending on the received tab: the most severe first
        // (discarded, rejected, …), though "sent" is last in the alphabet.
        await openTab(ap, 'received');
        const col = ap.locator('.ml-listtab thead th', { hasText: 'Status' });
        await listLoad(ap, 'received', () => col.click());
        const res = await listLoad(ap, 'received', () => col.click());
        assert.equal(await col.getAttribute('aria-sort'), 'descending');
        const first = (await table(ap))[0].Status;
        assert.ok(!/^sent/.test(first), `most severe status first, not ${first}`);
        assert.equal(first.replace(/\s.*$/, ''), res.rows[0].status);
        await shot(ap, 'admin-sort-status-desc');
    });

    await test('admin: "Load more" pages with the keyset cursor, no row twice', async () => {
        const res = await openTab(ap, 'received');
        assert.ok(res.total > 50, 'enough rows to page');
        assert.ok(res.next_cursor, 'a cursor for the next page');
        const more = await listLoad(ap, 'received', () => ap.getByTestId('more').click());
        assert.equal(more.rows.length, Math.min(50, res.total - 50));
        const rows = await table(ap);
        assert.equal(rows.length, Math.min(100, res.total));
        assert.equal(new Set(rows.map((r) => r._id)).size, rows.length, 'distinct rows');
        const c = await counts(ap);
        assert.equal(c.shown, rows.length);
        assert.equal(c.total, res.total);
    });

    await test('admin: status filter and date range filter', async () => {
        await openTab(ap, 'sent');
        const res = await listLoad(ap, 'sent', () => ap.getByTestId('status').selectOption('bounced'));
        assert.equal(res.total, sum((d) => d.sent.bounced), 'bounced = generated bounces');
        for (const r of await table(ap)) assert.match(r.Status, /^bounced/);
        await listLoad(ap, 'sent', () => ap.getByTestId('status').selectOption(''));
        const day = localIn(TZ, mCom.date).slice(0, 10);
        await listLoad(ap, 'sent', () => ap.getByTestId('from').fill(day));
        const res2 = await listLoad(ap, 'sent', () => ap.getByTestId('to').fill(day));
        for (const r of await table(ap)) assert.equal(r.Date.slice(0, 10), day, 'row inside the chosen day');
        assert.ok(res2.total <= sum((d) => d.sent.sent + d.sent.deferred_then_sent + d.sent.bounced + d.sent.expired));
        await shot(ap, 'admin-filtered');
        await listLoad(ap, 'sent', () => ap.getByTestId('from').fill(''));
        await listLoad(ap, 'sent', () => ap.getByTestId('to').fill(''));
    });

    await test('admin: emptying the search box (or its × button) shows every row again', async () => {
        const all = await openTab(ap, 'received');
        const search = ap.getByTestId('search');
        const found = await listLoad(ap, 'received', async () => {
            await search.fill(mCom.msgid.slice(1, -1));
            await search.press('Enter');
        });
        assert.equal(found.total, 1);
        // Deleting the text: the list is no longer filtered, without Enter.
        const back = await listLoad(ap, 'received', () => search.fill(''));
        assert.equal(back.total, all.total, 'every row again');
        assert.equal((await counts(ap)).total, all.total);
        // The search field's own clear button (× of type=search).
        await listLoad(ap, 'received', async () => {
            await search.fill(mCom.msgid.slice(1, -1));
            await search.press('Enter');
        });
        const cleared = await listLoad(ap, 'received', async () => {
            await search.focus();
            await search.scrollIntoViewIfNeeded();
            const box = await search.boundingBox();
            // Chromium's cancel button sits at the right end of the focused input
            await ap.mouse.click(box.x + box.width - 14, box.y + box.height / 2);
        });
        assert.equal(await search.inputValue(), '');
        assert.equal(cleared.total, all.total, 'every row again after ×');
    });

    await test("admin: the search and the period stay when moving to another tab; the status filter is the tab's own", async () => {
        const day = localIn(TZ, mCom.date).slice(0, 10);
        const search = ap.getByTestId('search');
        await openTab(ap, 'received');
        try {
            const found = await listLoad(ap, 'received', async () => {
                await search.fill(mCom.sender);
                await search.press('Enter');
            });
            assert.ok(found.total >= 1, 'the marker mail is found');
            // text typed and not searched for yet stays when the period changes
            await search.fill('not searched yet');
            await listLoad(ap, 'received', () => ap.getByTestId('from').fill(day));
            assert.equal(await search.inputValue(), 'not searched yet');
            await search.fill(mCom.sender);
            await listLoad(ap, 'received', () => ap.getByTestId('status').selectOption('sent'));
            for (const id of ['sent', 'access']) {
                const [req] = await Promise.all([
                    ap.waitForRequest((r) => new URL(r.url()).pathname.endsWith(`/v1/${id}`)),
                    openTab(ap, id),
                ]);
                const u = new URL(req.url());
                assert.equal(u.searchParams.get('q'), mCom.sender, `${id}: the search goes along`);
                assert.ok(Number(u.searchParams.get('from')) > 0, `${id}: the period goes along`);
                assert.ok(!u.searchParams.get('status'), `${id}: no status filter of another tab`);
                assert.equal(await search.inputValue(), mCom.sender, `${id}: the box shows it`);
                assert.equal(await ap.getByTestId('from').inputValue(), day);
            }
            // Emptied on one tab, it is empty on the others.
            await listLoad(ap, 'access', () => search.fill(''));
            const [req] = await Promise.all([
                ap.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/v1/received')),
                openTab(ap, 'received'),
            ]);
            assert.ok(!new URL(req.url()).searchParams.get('q'), 'no search after emptying the box');
            assert.equal(await search.inputValue(), '');
        } finally {
            if ((await search.inputValue()) !== '') await search.fill('');
            await ap.getByTestId('from').fill('');
            await openTab(ap, 'received');
        }
        assert.equal(await ap.getByTestId('from').inputValue(), '');
    });

    await test('admin: a "From" date after the "To" date is said at the filter', async () => {
        await openTab(ap, 'sent');
        const day = localIn(TZ, mCom.date).slice(0, 10);
        const next = localIn(TZ, mCom.date + 86400).slice(0, 10);
        await listLoad(ap, 'sent', () => ap.getByTestId('to').fill(day));
        let asked = 0;
        const count = (r) => {
            if (new URL(r.url()).pathname.endsWith('/v1/sent')) asked++;
        };
        ap.on('request', count);
        await ap.getByTestId('from').fill(next);
        const msg = ap.getByTestId('period-error');
        await msg.waitFor();
        assert.match(await msg.textContent(), /“From” date is after the “To” date/);
        assert.equal(await ap.getByTestId('from').getAttribute('aria-invalid'), 'true');
        await ap.getByText('The period is empty').waitFor();
        assert.equal(await ap.getByTestId('count').count(), 0, 'no "0 of 0 shown"');
        await shot(ap, 'admin-period-reversed');
        ap.off('request', count);
        assert.equal(asked, 0, 'nothing asked for an empty period');
        // Corrected: the list loads again and the message is gone.
        await listLoad(ap, 'sent', () => ap.getByTestId('from').fill(day));
        assert.equal(await msg.count(), 0);
        await listLoad(ap, 'sent', () => ap.getByTestId('from').fill(''));
        await listLoad(ap, 'sent', () => ap.getByTestId('to').fill(''));
        noErrors(admin);
    });

    await test('admin: CSV download carries the same filters', async () => {
        await openTab(ap, 'received');
        await listLoad(ap, 'received', async () => {
            await ap.getByTestId('search').fill(mNet.sender);
            await ap.getByTestId('search').press('Enter');
        });
        const href = await ap.getByTestId('csv').getAttribute('href');
        const q = new URL(href, base).searchParams;
        assert.equal(q.get('format'), 'csv');
        assert.equal(q.get('q'), mNet.sender);
        const [dl] = await Promise.all([ap.waitForEvent('download'), ap.getByTestId('csv').click()]);
        const file = await dl.path();
        const csv = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
        assert.equal(csv.length, 2, 'header + the one matching mail');
        assert.ok(csv[1].includes(mNet.sender) && csv[1].includes(mNet.mailbox), csv[1]);
        assert.ok(!csv.slice(1).some((l) => l.includes(mCom.sender)), 'other mails not exported');
    });

    await test('admin: settings page — validation error next to the field, save, persist', async () => {
        await ap.goto(`${base}#/settings`);
        const form = ap.getByTestId('admin-settings');
        await form.waitFor();
        const days = form.locator('input[name="retention_days"]');
        await days.fill('0');
        admin.allow.add(422);
        const [bad] = await Promise.all([
            ap.waitForResponse((r) => r.url().endsWith('/v1/settings') && r.request().method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        assert.equal(bad.status(), 422);
        const err = (await bad.json()).error;
        assert.equal(err.field, 'retention_days');
        const field = ap.locator('.pul-form-field', { has: ap.locator('input[name="retention_days"]') });
        // Under the field, in words: not "retention_days: must be …".
        await field.getByText(fieldText(err), { exact: true }).waitFor();
        assert.ok(!(await ap.getByTestId('admin-settings').textContent()).includes('retention_days'), 'no internal field name shown');
        await shot(ap, 'admin-settings-error');
        await days.fill('10');
        await form.getByTestId('retention-warning').waitFor();
        await form.locator('input[name="ignore_terms_smtp"]').fill('some term, other term');
        const [ok] = await Promise.all([
            ap.waitForResponse((r) => r.url().endsWith('/v1/settings') && r.request().method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        assert.equal(ok.status(), 200);
        assert.deepEqual(JSON.parse(ok.request().postData()).ignore_terms_smtp, ['some term', 'other term']);
        await ap.getByTestId('saved').waitFor();
        await ap.reload();
        await form.waitFor();
        assert.equal(await form.locator('input[name="retention_days"]').inputValue(), '10');
        assert.equal(await form.locator('input[name="ignore_terms_smtp"]').inputValue(), 'some term, other term');
        await shot(ap, 'admin-settings');
        await setAdmin(admin, { retention_days: 7, ignore_terms_smtp: [] });
    });

    await test('admin: last log lines with a filter box', async () => {
        await ap.goto(`${base}#/settings`);
        const tail = ap.getByTestId('log-tail');
        await tail.waitFor();
        const all = (await ap.getByTestId('tail-lines').textContent()).split('\n');
        assert.equal(all[all.length - 1], logLines[logLines.length - 1], 'the last line of the log');
        const sc = await ap.getByTestId('tail-lines').evaluate((el) => ({ top: el.scrollTop, h: el.clientHeight, all: el.scrollHeight }));
        assert.ok(sc.all > sc.h, `the lines scroll (${JSON.stringify(sc)})`);
        assert.ok(sc.top + sc.h >= sc.all - 2, `opens at the newest line (${JSON.stringify(sc)})`);
        await ap.getByTestId('tail-filter').fill(mCom.queue_id);
        const shown = (await ap.getByTestId('tail-lines').textContent()).split('\n');
        const want = logLines.filter((l) => l.includes(mCom.queue_id));
        assert.deepEqual(shown, want);
        await shot(ap, 'admin-log-tail');
        noErrors(admin);
    });

    await test("admin: every domain's notifications at a glance, with where its reports go", async () => {
        await ap.goto(`${base}#/settings`);
        const box = ap.getByTestId('domain-alerts');
        await box.waitFor();
        const rows = await box.locator('tbody tr').evaluateAll((trs) =>
            trs.map((tr) => [...tr.children].map((td) => td.textContent)),
        );
        const file = JSON.parse(fs.readFileSync(path.join(demoDir, 'domains.json'), 'utf8'));
        const want = file.map((d) => d.name).sort();
        assert.deepEqual(rows.map((r) => r[0]), want);
        for (const r of rows) {
            const d = file.find((x) => x.name === r[0]);
            assert.equal(r[3], d.owner_email, `${r[0]}: reports go to the owner of the domains file`);
        }
        // the domain the admin protects shows so, and its newest report
        const db = path.join(demoDir, 'maillog.db');
        const hour = Math.floor(Date.now() / 1000 / 3600) * 3600 - 3 * 3600;
        const before = await apiAs(admin, 'GET', '/domains/example.net/settings');
        try {
            const set = await apiAs(admin, 'PUT', '/domains/example.net/settings', { usual_countries: ['NL'], notify: true, force_password_change: true });
            assert.equal(set.status, 200);
            sqlite(db, [`INSERT INTO alert_reports VALUES ('example.net', ${hour}, 'sent', 1, '', ${hour + 3900})`]);
            await ap.reload();
            await box.waitFor();
            const net = await box.locator('tbody tr[data-domain="example.net"]').evaluate((tr) => [...tr.children].map((td) => td.textContent));
            assert.deepEqual(net.slice(1, 3), ['on, with forced password change', 'NL']);
            assert.equal(net[4], `${localIn(TZ, hour).slice(0, 16)}: sent`);
            await box.scrollIntoViewIfNeeded();
            await shot(ap, 'admin-domain-alerts');
        } finally {
            sqlite(db, [`DELETE FROM alert_reports WHERE domain = 'example.net' AND hour_start = ${hour}`]);
            const b = before.body;
            await apiAs(admin, 'PUT', '/domains/example.net/settings', {
                usual_countries: b.usual_countries, notify: b.notify, force_password_change: b.force_password_change, ip_exceptions: b.ip_exceptions,
            });
        }
        noErrors(admin);
    });

    await test('admin: a test report says whether the mail server took it, with its answer when not', async () => {
        const ini = path.join(demoDir, 'maillog.ini');
        const saved = fs.readFileSync(ini, 'utf8');
        const port = await freePort(); // nothing listens there
        const box = ap.getByTestId('test-report');
        try {
            fs.writeFileSync(ini, saved.replace(/^url = .*$/m, `url = smtp://127.0.0.1:${port}`));
            await box.getByTestId('test-report-to').fill('admin@example.net');
            admin.allow.add(502);
            const [res] = await Promise.all([
                ap.waitForResponse((r) => /\/v1\/alerts\/test$/.test(r.url())),
                box.getByTestId('test-report-send').click(),
            ]);
            assert.equal(res.status(), 502);
            assert.deepEqual(JSON.parse(res.request().postData()), { to: 'admin@example.net' });
            const result = box.getByTestId('test-report-result');
            await result.waitFor();
            assert.match(await result.textContent(), new RegExp(`^The test report was not sent: .*127\\.0\\.0\\.1:${port}`));
            await shot(ap, 'admin-test-report-refused');
            // with a mail server listening, it is accepted
            const sinkBin = ['/usr/sbin/smtp-sink', '/usr/bin/smtp-sink'].find((f) => fs.existsSync(f));
            if (sinkBin) {
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maillog-sink-'));
                fs.chmodSync(dir, 0o777);
                const sinkPort = await freePort();
                const { spawn } = await import('node:child_process');
                const sink = spawn(sinkBin, ['-u', 'nobody', '-d', `${dir}/%Y%m%d%H%M%S.`, `127.0.0.1:${sinkPort}`, '10'], { stdio: 'ignore' });
                try {
                    for (let i = 0; i < 600; i++) {
                        const up = await new Promise((resolve) => {
                            const c = net.connect(sinkPort, '127.0.0.1', () => (c.end(), resolve(true)));
                            c.on('error', () => resolve(false));
                        });
                        if (up) break;
                        await new Promise((r) => setTimeout(r, 50));
                    }
                    fs.writeFileSync(ini, saved.replace(/^url = .*$/m, `url = smtp://127.0.0.1:${sinkPort}`));
                    const [ok] = await Promise.all([
                        ap.waitForResponse((r) => /\/v1\/alerts\/test$/.test(r.url())),
                        box.getByTestId('test-report-send').click(),
                    ]);
                    assert.equal(ok.status(), 200);
                    await box.getByText('The mail server accepted the test report for admin@example.net. Check that it arrives.').waitFor();
                    const mails = fs.readdirSync(dir);
                    assert.equal(mails.length, 1, `one mail captured: ${mails}`);
                    assert.match(fs.readFileSync(path.join(dir, mails[0]), 'utf8'), /TEST REPORT/);
                } finally {
                    sink.kill();
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            }
        } finally {
            fs.writeFileSync(ini, saved);
        }
        noErrors(admin);
    });

    const cli = await openAs('cli1', base);
    roles.push(cli);
    const cp = cli.page;

    await test('client: sees exactly their own domain, in every tab', async () => {
        await setAdmin(admin, { client_config_visibility: 'editable', hide_from_clients: false });
        await listLoad(cp, 'access', () => cp.goto(base));
        assert.equal(await cp.getByTestId('domain').textContent(), 'Domain: example.com');
        assert.equal(await cp.getByTestId('nav-settings').count(), 0, 'no settings link');
        const mine = manifest.domains['example.com'];
        const expectTotals = { access: mine.logins.ok + mine.logins.failed };
        // its web site's mail is its own too, sent as the site's system user
        const siteSenders = manifest.webforms.filter((w) => w.domain === 'example.com').map((w) => w.sender);
        const ours = (id, mailbox) => /@example\.com$/.test(mailbox) || (id === 'sent' && siteSenders.includes(mailbox));
        for (const id of ['access', 'received', 'sent', 'not-received', 'not-sent']) {
            const res = await openTab(cp, id);
            if (expectTotals[id] !== undefined) assert.equal(res.total, expectTotals[id], `${id} total`);
            let rows = res.rows;
            let cursor = res.next_cursor;
            while (cursor) {
                const more = await listLoad(cp, id, () => cp.getByTestId('more').click());
                rows = rows.concat(more.rows);
                cursor = more.next_cursor;
            }
            assert.equal(rows.length, res.total, `${id}: all pages`);
            for (const r of rows) assert.ok(ours(id, r.mailbox), `${id}: ${r.mailbox}`);
            for (const r of await table(cp)) assert.ok(ours(id, r.Mailbox), `${id} (shown): ${r.Mailbox}`);
            await shot(cp, `client-tab-${id}`);
        }
        noErrors(cli);
    });

    await test("client: their web site's mail (PHP's mail(), by its system user) is in their Sent tab, whatever sender the script claims", async () => {
        const [own] = manifest.webforms.filter((w) => w.domain === 'example.com');
        const res = await openTab(cp, 'sent');
        assert.ok(res.total > 0);
        const search = cp.getByTestId('search');
        const found = await listLoad(cp, 'sent', async () => {
            await search.fill(own.msgid.slice(1, -1));
            await search.press('Enter');
        });
        assert.equal(found.total, 1, 'the contact-form mail is listed');
        const [row] = await table(cp);
        assert.equal(row.Mailbox, own.sender);
        assert.equal(row.Recipient, own.recipient);
        // example.net's site claimed an example.org address: example.net's mail
        const [claimed] = manifest.webforms.filter((w) => w.domain === 'example.net');
        assert.match(claimed.sender, /@example\.org$/);
        const q = claimed.msgid.slice(1, -1);
        const asAdmin = async (domain) => {
            const r = await apiAs(admin, 'GET', `/sent?domain=${domain}&q=${encodeURIComponent(q)}`);
            assert.equal(r.status, 200);
            return r.body.rows.length;
        };
        assert.equal(await asAdmin('example.net'), 1, "in the sending site's domain");
        assert.equal(await asAdmin('example.org'), 0, 'not in the claimed domain');
        await listLoad(cp, 'sent', () => search.fill(''));
        noErrors(cli);
    });

    await test("client: another customer's mail is neither found nor traceable", async () => {
        await openTab(cp, 'received');
        const res = await listLoad(cp, 'received', async () => {
            await cp.getByTestId('search').fill(mNet.msgid.slice(1, -1));
            await cp.getByTestId('search').press('Enter');
        });
        assert.equal(res.total, 0);
        await cp.getByText('Nothing matches these filters').waitFor();
        // the answer in sight, not under a picture below the fold
        assert.equal(await cp.locator('.pul-list-empty-view__image').count(), 0, 'no illustration');
        const box = await cp.getByText('Nothing matches these filters').boundingBox();
        assert.ok(box && box.y + box.height <= 800, `the answer is on screen: ${JSON.stringify(box)}`);
        await shot(cp, 'client-empty');
        cli.allow.add(403).add(404);
        const other = await apiAs(admin, 'GET', `/received?q=${encodeURIComponent(mNet.msgid.slice(1, -1))}`);
        assert.equal(other.body.total, 1, 'the admin finds it');
        const id = other.body.rows[0].message_id;
        assert.equal((await apiAs(cli, 'GET', `/messages/${id}`)).status, 404);
        assert.equal((await apiAs(cli, 'GET', '/received?domain=example.net')).status, 403);
    });

    await test('client: a stale analysis is said without asking about the cron they cannot run', async () => {
        const db = path.join(demoDir, 'maillog.db');
        const saved = sqlite(db, ['SELECT read_to FROM read_mark']).toString().trim();
        try {
            sqlite(db, [`UPDATE read_mark SET read_to = ${Math.floor(Date.now() / 1000) - 3600}`]);
            await listLoad(cp, 'access', () => cp.reload());
            const text = await cp.getByTestId('freshness').textContent();
            assert.match(text, /may be behind.*contact your hosting provider/);
            assert.ok(!/cron/.test(text), text);
        } finally {
            sqlite(db, [`INSERT OR REPLACE INTO read_mark(id, read_to) VALUES (1, ${Number(saved)})`]);
        }
        await listLoad(cp, 'access', () => cp.reload());
    });

    await test('client: configuration is editable, a bad IP is refused next to the field, a good one saved', async () => {
        await openTab(cp, 'config');
        const form = cp.getByTestId('config');
        const ips = form.locator('input[name="ip_exceptions"]');
        await ips.fill('198.51.100.7, not-an-ip');
        cli.allow.add(422);
        const [bad] = await Promise.all([
            cp.waitForResponse((r) => /\/settings$/.test(r.url()) && r.request().method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        assert.equal(bad.status(), 422);
        const err = (await bad.json()).error;
        assert.equal(err.field, 'ip_exceptions');
        await cp.locator('.pul-form-field', { has: cp.locator('input[name="ip_exceptions"]') }).getByText(fieldText(err), { exact: true }).waitFor();
        assert.ok(!(await form.textContent()).includes('ip_exceptions'), 'no internal field name shown');
        await shot(cp, 'client-config-error');
        // Forced password change needs notifications: disabled until they are on.
        const force = form.locator('input[type="checkbox"][name="force_password_change"]');
        const notify = form.locator('input[type="checkbox"][name="notify"]');
        if (await notify.isChecked()) await notify.uncheck({ force: true });
        assert.equal(await force.isDisabled(), true, 'force disabled while notify is off');
        await form.getByText('Turn on notifications first').waitFor();
        // Notifications need a usual country (with none, no login is unusual).
        assert.equal(await notify.isDisabled(), true, 'notify disabled without a usual country');
        await form.getByText('Choose at least one usual country first').waitFor();
        await chooseOption(cp, form, 'Usual countries', 'Germ', /^DE Germany/);
        // what DE alone would mean: the generated successful logins from elsewhere
        const okBy = manifest.domains['example.com'].countries_ok;
        const want = Object.entries(okBy).filter(([cc, n]) => cc !== 'DE' && cc !== 'local' && n > 0);
        const preview = await cp.getByTestId('usual-preview').textContent();
        const m = preview.match(/^In the last 7 days, (\d+) successful logins came from other countries and would have been reported: (.*)\.$/);
        assert.ok(m, preview);
        assert.equal(Number(m[1]), want.reduce((n, [, k]) => n + k, 0), preview);
        const shownParts = m[2].split(', ').map((p) => p.match(/^([A-Z]{2}) .* (\d+)$/).slice(1, 3).join(' '));
        assert.deepEqual(shownParts.sort(), want.map(([cc, n]) => `${cc} ${n}`).sort());
        assert.equal(await notify.isDisabled(), false, 'notify enabled once a country is chosen');
        await notify.check({ force: true });
        assert.equal(await force.isDisabled(), false);
        await force.check({ force: true });
        await ips.fill('198.51.100.7, 2001:db8::/32');
        const [ok] = await Promise.all([
            cp.waitForResponse((r) => /\/settings$/.test(r.url()) && r.request().method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        assert.equal(ok.status(), 200);
        const sent = JSON.parse(ok.request().postData());
        assert.deepEqual(sent.ip_exceptions, ['198.51.100.7', '2001:db8::/32']);
        assert.equal(sent.notify, true);
        assert.equal(sent.force_password_change, true);
        assert.deepEqual(sent.usual_countries, ['DE']);
        const back = await apiAs(cli, 'GET', '/domains/example.com/settings');
        assert.deepEqual(back.body.ip_exceptions, ['198.51.100.7', '2001:db8::/32']);
        assert.equal(back.body.force_password_change, true);
        await shot(cp, 'client-config');
    });

    await test('client: recent notifications say what became of each report and new password; the admin is warned', async () => {
        // Rows as the hourly alert run leaves them (states: src/alert/alert.h;
        // the run itself is tested against a real SMTP server in tests/alert).
        const db = path.join(demoDir, 'maillog.db');
        const hour = Math.floor(Date.now() / 1000 / 3600) * 3600;
        const [h1, h2, h3] = [hour - 2 * 3600, hour - 5 * 3600, hour - 6 * 3600];
        const error = "smtp://127.0.0.1:2525: Couldn't connect to server <b>x</b>";
        const q = (t) => `'${t.replace(/'/g, "''")}'`;
        sqlite(db, [
            'INSERT INTO alert_reports(domain, hour_start, state, attempts, last_error, updated_at) VALUES' +
                ` ('example.com', ${h1}, 'pending', 2, ${q(error)}, ${h1 + 7200 + 540}),` +
                ` ('example.com', ${h2}, 'sent', 1, '', ${h2 + 3600 + 540}),` +
                ` ('example.com', ${h3}, 'none', 0, '', ${h3 + 3600 + 540}),` +
                ` ('example.net', ${h1}, 'failed', 168, 'example.net: no usable owner address', ${h1 + 7200 + 600});` +
                'INSERT INTO password_changes(domain, hour_start, mailbox, state, updated_at) VALUES' +
                ` ('example.com', ${h2}, 'sales@example.com', 'failed_notified', ${h2 + 3600 + 540}),` +
                ` ('example.com', ${h2}, 'info@example.com', 'changed', ${h2 + 3600 + 540})`,
        ]);
        try {
            await listLoad(cp, 'access', () => cp.reload());
            await openTab(cp, 'config');
            const history = cp.getByTestId('alert-history');
            await history.waitFor();
            const rows = await history.locator('tbody tr').evaluateAll((trs) =>
                trs.map((tr) => ({ hour: tr.dataset.hour, cells: [...tr.children].map((td) => td.textContent) })),
            );
            // newest first, the quiet hour left out, times in the viewer's zone
            assert.deepEqual(rows.map((r) => Number(r.hour)), [h1, h2]);
            const span = (h) => `${localIn(TZ, h).slice(0, 16)}–${localIn(TZ, h + 3600).slice(11, 16)}`;
            assert.equal(rows[0].cells[0], span(h1));
            assert.equal(rows[1].cells[0], span(h2));
            assert.ok(
                rows[0].cells[1].startsWith(`Not delivered yet (2 attempts): retried every hour until ${localIn(TZ, h1 + 168 * 3600).slice(0, 16)}`),
                rows[0].cells[1],
            );
            assert.ok(rows[0].cells[1].includes(error), `the error as text: ${rows[0].cells[1]}`);
            assert.equal(await history.locator('b').count(), 0, 'no HTML from the error');
            assert.equal(rows[0].cells[2], 'none');
            assert.equal(rows[1].cells[1], `Sent ${localIn(TZ, h2 + 3600 + 540).slice(0, 16)}`);
            // by mailbox; what each password change became
            assert.equal(
                rows[1].cells[2],
                'info@example.com: changed: the password in the mail is in force' +
                    'sales@example.com: not changed: the old password still works (a second mail said so)',
            );
            await history.scrollIntoViewIfNeeded();
            await shot(cp, 'client-config-notifications');
            // another customer's domain stays closed
            assert.equal((await apiAs(cli, 'GET', '/domains/example.net/alerts')).status, 403);
            // the admin's overview says reports are not getting through
            await listLoad(ap, 'access', () => ap.goto(base));
            const warning = ap.getByTestId('alert-problems');
            assert.equal(
                await warning.textContent(),
                `2 domains have suspicious-login reports the mail server has not accepted (latest: example.net, hour of ${localIn(TZ, h1).slice(0, 16)}: example.net: no usable owner address).` +
                    ' 1 forced password change was not surely made: the old password may still work.' +
                    " Each domain's Configuration tab lists its reports.",
            );
        } finally {
            sqlite(db, [`DELETE FROM alert_reports WHERE hour_start IN (${h1}, ${h2}, ${h3}); DELETE FROM password_changes WHERE hour_start = ${h2}`]);
        }
        await listLoad(ap, 'access', () => ap.goto(base));
        assert.equal(await ap.getByTestId('alert-problems').count(), 0, 'no warning once nothing fails');
        noErrors(cli);
        noErrors(admin);
    });

    await test('client: the form names where reports go, and says when there is no address', async () => {
        const db = path.join(demoDir, 'maillog.db');
        const owner = sqlite(db, ["SELECT owner_email FROM domains WHERE name = 'example.com'"]).toString().trim();
        const file = JSON.parse(fs.readFileSync(path.join(demoDir, 'domains.json'), 'utf8'));
        assert.equal(owner, file.find((d) => d.name === 'example.com').owner_email, 'the address of the domains file');
        await listLoad(cp, 'access', () => cp.reload());
        await openTab(cp, 'config');
        const form = cp.getByTestId('config');
        await form.getByText(`Email a report of logins from unusual countries to ${owner}`, { exact: true }).waitFor();
        assert.equal(await cp.getByTestId('no-recipient').count(), 0);
        // notifications are on (the test before saved them), nothing reported
        assert.match(await cp.getByTestId('alert-history-empty').textContent(), /^No report in the last days/);
        try {
            sqlite(db, ["UPDATE domains SET owner_email = '' WHERE name = 'example.com'"]);
            await listLoad(cp, 'access', () => cp.reload());
            await openTab(cp, 'config');
            await cp.getByTestId('no-recipient').waitFor();
            assert.match(await cp.getByTestId('no-recipient').textContent(), /no owner email address that mail can be sent to/);
            await form.getByText("Email a report of logins from unusual countries to the domain owner's address", { exact: true }).waitFor();
        } finally {
            sqlite(db, [`UPDATE domains SET owner_email = '${owner.replace(/'/g, "''")}' WHERE name = 'example.com'`]);
        }
        noErrors(cli);
    });

    await test('client: read-only configuration cannot be saved', async () => {
        const before = await apiAs(cli, 'GET', '/domains/example.com/settings');
        const keep = { usual_countries: before.body.usual_countries, notify: before.body.notify, force_password_change: before.body.force_password_change, ip_exceptions: before.body.ip_exceptions };
        assert.equal((await apiAs(cli, 'PUT', '/domains/example.com/settings', { ...keep, usual_countries: ['DE'] })).status, 200);
        await setAdmin(admin, { client_config_visibility: 'readonly' });
        await listLoad(cp, 'access', () => cp.reload());
        await openTab(cp, 'config');
        await cp.getByTestId('readonly-notice').waitFor();
        assert.equal(await cp.getByTestId('config').getByRole('button', { name: 'Save' }).count(), 0, 'no Save button');
        assert.equal(await cp.locator('input[name="ip_exceptions"]').isDisabled(), true);
        assert.equal(await cp.locator('input[type="checkbox"][name="notify"]').isDisabled(), true);
        // A usual country cannot be removed on screen either (nothing would be saved).
        const chips = cp.getByTestId('config').locator('.pul-select-multi-value');
        assert.equal(await chips.count(), 1, 'the usual country is shown');
        const removers = chips.locator('.pul-select-multi-value__remove');
        if ((await removers.count()) && (await removers.first().isVisible())) await removers.first().click();
        assert.equal(await chips.count(), 1, 'the usual country stays');
        const put = await apiAs(cli, 'PUT', '/domains/example.com/settings', { usual_countries: [], notify: false, force_password_change: false, ip_exceptions: [] });
        assert.equal(put.status, 403, 'the API refuses the change too');
        await shot(cp, 'client-config-readonly');
        await setAdmin(admin, { client_config_visibility: 'editable' });
        assert.equal((await apiAs(cli, 'PUT', '/domains/example.com/settings', keep)).status, 200);
    });

    await test('client: hidden configuration gives five tabs', async () => {
        await setAdmin(admin, { client_config_visibility: 'hidden' });
        await listLoad(cp, 'access', () => cp.reload());
        assert.deepEqual(await tabNames(cp), Object.values(TAB_TITLES).slice(0, 5));
        await shot(cp, 'client-five-tabs');
    });

    await test('client: "hide from clients" hides the page', async () => {
        await setAdmin(admin, { hide_from_clients: true });
        await cp.reload();
        await cp.getByTestId('forbidden').waitFor();
        assert.equal((await cp.getByTestId('forbidden').textContent()).trim(), 'Mail log is not available to clients on this server.');
        assert.equal(await cp.getByRole('tab').count(), 0);
        await shot(cp, 'client-hidden');
        await setAdmin(admin, { hide_from_clients: false, client_config_visibility: 'editable' });
    });

    await test('client: keyboard only — tab order, Enter to search, Enter to open a trace', async () => {
        await listLoad(cp, 'access', () => cp.reload());
        // Tab from the top of the page to the received tab, activate it with Enter.
        const order = [];
        let reached = false;
        for (let i = 0; i < 40 && !reached; i++) {
            await cp.keyboard.press('Tab');
            const f = await cp.evaluate(() => {
                const a = document.activeElement;
                return { text: (a.textContent || '').trim().slice(0, 40), tag: a.tagName, role: a.getAttribute('role'), testid: a.getAttribute('data-testid') };
            });
            order.push(f);
            reached = f.role === 'tab' && f.text === TAB_TITLES.received;
        }
        assert.ok(reached, `reached the "Emails received" tab by keyboard: ${JSON.stringify(order.map((o) => o.text || o.tag))}`);
        await listLoad(cp, 'received', () => cp.keyboard.press('Enter'));
        // Onwards to the search box, which comes before the list.
        let inSearch = false;
        for (let i = 0; i < 20 && !inSearch; i++) {
            await cp.keyboard.press('Tab');
            inSearch = await cp.evaluate(() => document.activeElement.getAttribute('data-testid') === 'search');
        }
        assert.ok(inSearch, 'search box reachable with Tab');
        await cp.keyboard.type(mCom.msgid.slice(1, -1));
        const res = await listLoad(cp, 'received', () => cp.keyboard.press('Enter'));
        assert.equal(res.total, 1, 'Enter searched');
        let onTrace = false;
        for (let i = 0; i < 40 && !onTrace; i++) {
            await cp.keyboard.press('Tab');
            onTrace = await cp.evaluate(() => document.activeElement.getAttribute('data-testid') === 'open-trace');
        }
        assert.ok(onTrace, 'the message link is reachable with Tab');
        await Promise.all([cp.waitForResponse((r) => /\/v1\/messages\//.test(r.url())), cp.keyboard.press('Enter')]);
        await cp.getByTestId('trace-lines').waitFor();
        await cp.keyboard.press('Escape');
        await cp.getByTestId('trace').waitFor({ state: 'detached' });
        noErrors(cli);
    });

    await test('client: loading state', async () => {
        await listLoad(cp, 'access', () => cp.reload());
        // Loading: the real answer, held back for a moment.
        await cp.route(/\/v1\/sent\?/, async (route) => {
            await new Promise((r) => setTimeout(r, 1200));
            await route.continue();
        });
        const tab = cp.getByRole('tab', { name: TAB_TITLES.sent, exact: true });
        const loaded = listLoad(cp, 'sent', () => tab.click());
        await cp.getByTestId('list-loading').waitFor();
        await shot(cp, 'client-loading');
        await loaded;
        await cp.unroute(/\/v1\/sent\?/);
        assert.equal(await cp.getByTestId('list-loading').count(), 0);
        noErrors(cli);
    });

    await test("client: a non-ASCII search is cut to the API's 200 bytes, with a notice", async () => {
        await openTab(cp, 'sent');
        // A non-ASCII search longer than the API's 200 bytes: cut in the box
        // (150 × "€" = 450 bytes → 66 × "€" = 198 bytes), said so, and searched.
        const search = cp.getByTestId('search');
        await search.fill('€'.repeat(150));
        assert.equal(await search.inputValue(), '€'.repeat(66), 'cut to 200 bytes of UTF-8');
        await cp.getByTestId('search-limit').waitFor();
        const cut = await listLoad(cp, 'sent', () => search.press('Enter'));
        assert.equal(cut.total, 0);
        assert.equal(await cp.getByTestId('list-error').count(), 0, 'no error from the API');
        await shot(cp, 'client-search-cut');
        await listLoad(cp, 'sent', () => search.fill(''));
        assert.equal(await cp.getByTestId('search-limit').count(), 0, 'notice gone with the text');
        noErrors(cli);
    });

    await test('client: an unreachable server is said once, without counts, with Retry', async () => {
        // Error: the server cannot be reached. Said once, with Retry; no
        // "0 items total" or "0 of 0 shown" beside it.
        await cp.route(/\/v1\/sent\?/, (route) => route.abort('connectionrefused'));
        cli.allowNet.add('net::ERR_CONNECTION_REFUSED'); // the failure this test provokes
        await openTab(cp, 'access');
        await cp.getByRole('tab', { name: TAB_TITLES.sent, exact: true }).click();
        const err = cp.getByTestId('list-error');
        await err.waitFor();
        assert.match(await err.textContent(), /cannot be reached/);
        const listText = await cp.locator('.ml-listtab[data-tab="sent"]').textContent();
        assert.equal(listText.split('cannot be reached').length - 1, 1, `the error once: ${listText}`);
        assert.ok(!/items total|\d+ of \d+ shown|\d+ shown/.test(listText), `no counts beside the error: ${listText}`);
        await shot(cp, 'client-error');
        // Retry once the server answers again.
        await cp.unroute(/\/v1\/sent\?/);
        const again = await listLoad(cp, 'sent', () => err.getByRole('button', { name: 'Retry' }).click());
        assert.ok(again.total > 0);
        assert.equal(await cp.getByTestId('list-error').count(), 0);
        assert.equal((await counts(cp)).total, again.total);
        noErrors(cli);
    });

    await test('client: the configuration and the admin settings and log lines, when they fail, say so with Retry', async () => {
        const failing = /\/settings$|\/log-tail$/;
        cli.allowNet.add('net::ERR_CONNECTION_REFUSED');
        admin.allowNet.add('net::ERR_CONNECTION_REFUSED');
        await cp.route(failing, (route) => route.abort('connectionrefused'));
        await ap.route(failing, (route) => route.abort('connectionrefused'));
        try {
            await listLoad(cp, 'access', () => cp.reload());
            await cp.getByRole('tab', { name: TAB_TITLES.config, exact: true }).click();
            const err = cp.getByTestId('config-error');
            await err.waitFor();
            assert.match(await err.textContent(), /could not be loaded/);
            await ap.goto(`${base}#/settings`);
            await ap.reload();
            await ap.getByTestId('settings-error').waitFor();
            await ap.getByTestId('log-tail-error').waitFor();
            await shot(ap, 'admin-settings-error');
        } finally {
            await cp.unroute(failing);
            await ap.unroute(failing);
        }
        await cp.getByTestId('config-error').getByRole('button', { name: 'Retry' }).click();
        await cp.getByTestId('config').waitFor();
        await ap.getByTestId('settings-error').getByRole('button', { name: 'Retry' }).click();
        await ap.getByTestId('admin-settings').waitFor();
        await ap.getByTestId('log-tail-error').getByRole('button', { name: 'Retry' }).click();
        await ap.getByTestId('log-tail').waitFor();
        noErrors(cli);
        noErrors(admin);
    });

    await test('client: when /v1/me fails the page keeps its heading and offers Retry', async () => {
        cli.allow.add(500);
        await cp.route(/\/v1\/me$/, (route) =>
            route.fulfill({
                status: 500,
                contentType: 'application/json',
                body: JSON.stringify({ error: { code: 'internal', message: "internal error (details in the server's error log)" } }),
            }),
        );
        await cp.reload();
        const fatal = cp.getByTestId('fatal');
        await fatal.waitFor();
        assert.equal(await cp.getByRole('heading', { name: 'Mail log', level: 1 }).count(), 1, 'the heading stays');
        assert.match(await fatal.textContent(), /could not be started.*internal error/s);
        await shot(cp, 'client-fatal');
        await cp.unroute(/\/v1\/me$/);
        await listLoad(cp, 'access', () => fatal.getByRole('button', { name: 'Retry' }).click());
        assert.equal(await cp.getByTestId('fatal').count(), 0);
        assert.equal(await cp.getByTestId('domain').textContent(), 'Domain: example.com');
        noErrors(cli);
    });

    const res1 = await openAs('res1', base);
    roles.push(res1);
    const rp = res1.page;

    await test("reseller: their customers' domains only, switching domains", async () => {
        await listLoad(rp, 'access', () => rp.goto(base));
        const opts = await rp.getByTestId('domain-select').locator('option').allTextContents();
        assert.deepEqual(opts, USERS.res1.domains);
        const res = await listLoad(rp, 'access', () => rp.getByTestId('domain-select').selectOption('example.net'));
        const net = manifest.domains['example.net'];
        assert.equal(res.total, net.logins.ok + net.logins.failed);
        for (const r of await table(rp)) assert.match(r.Mailbox, /@example\.net$/);
        for (const id of Object.keys(TAB_TITLES)) {
            await openTab(rp, id);
            await shot(rp, `reseller-tab-${id}`);
        }
        assert.equal(await rp.getByTestId('nav-settings').count(), 0);
        await rp.goto(`${base}#/settings`);
        await rp.getByTestId('forbidden').waitFor();
        res1.allow.add(403);
        assert.equal((await apiAs(res1, 'GET', '/settings')).status, 403, 'admin settings refused');
        noErrors(res1);
    });

    await test('reseller: choose usual countries with the searchable multi-select, save', async () => {
        await listLoad(rp, 'access', () => rp.goto(base));
        await openTab(rp, 'config');
        const form = rp.getByTestId('config');
        await chooseOption(rp, form, 'Usual countries', 'Austr', /^AT Austria/);
        const [ok] = await Promise.all([
            rp.waitForResponse((r) => /\/settings$/.test(r.url()) && r.request().method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        assert.equal(ok.status(), 200);
        assert.ok(JSON.parse(ok.request().postData()).usual_countries.includes('AT'));
        const back = await apiAs(res1, 'GET', '/domains/example.com/settings');
        assert.ok(back.body.usual_countries.includes('AT'));
        await shot(rp, 'reseller-config');
    });

    await test('reseller: "hide from resellers" hides the page, clients still see theirs', async () => {
        await setAdmin(admin, { hide_from_resellers: true });
        try {
            res1.allow.add(403);
            await rp.goto(base);
            await rp.reload();
            await rp.getByTestId('forbidden').waitFor();
            assert.equal(await rp.getByRole('tab').count(), 0);
            await shot(rp, 'reseller-hidden');
            await listLoad(cp, 'access', () => cp.reload());
            assert.ok((await cp.getByRole('tab').count()) >= 5, 'the client is not affected');
        } finally {
            await setAdmin(admin, { hide_from_resellers: false });
        }
        await listLoad(rp, 'access', () => rp.reload());
        noErrors(res1);
    });

    await test('admin: log tail disabled notice when max_lines is 0', async () => {
        const ini = path.join(demoDir, 'maillog.ini');
        const text = fs.readFileSync(ini, 'utf8');
        fs.writeFileSync(ini, text.replace(/^max_lines = .*$/m, 'max_lines = 0'));
        try {
            admin.allow.add(404);
            await ap.goto(`${base}#/settings`);
            await ap.reload();
            await ap.getByTestId('log-tail-disabled').waitFor();
            await shot(ap, 'admin-log-tail-disabled');
        } finally {
            fs.writeFileSync(ini, text);
        }
        noErrors(admin);
    });

    await test('admin: a 150-character sender is cut with an ellipsis, the list fits 1280 and 800 pixels', async () => {
        const t = new Date((manifest.end - 2400) * 1000).toISOString().slice(0, 19);
        const q = '5A6B7C8D9E';
        const local = `bounce-${'verylongpart'.repeat(8)}=info=example.com`;
        const sender = `${local}@mail.sub1.sub2.sub3.long-sender-domain.example-partner.test`;
        assert.ok(sender.length >= 150, `${sender.length} characters`);
        ingestLines([
            `${t}.100000+00:00 mx1 postfix/smtpd[77101]: connect from mout.partner.test[198.51.100.77]`,
            `${t}.200000+00:00 mx1 postfix/smtpd[77101]: ${q}: client=mout.partner.test[198.51.100.77]`,
            `${t}.300000+00:00 mx1 postfix/cleanup[77102]: ${q}: message-id=<verp-test@partner.test>`,
            `${t}.400000+00:00 mx1 postfix/qmgr[900]: ${q}: from=<${sender}>, size=3131, nrcpt=1 (queue active)`,
            `${t}.500000+00:00 mx1 postfix/lmtp[77103]: ${q}: to=<info@example.com>, relay=mx1[private/dovecot-lmtp], delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <info@example.com> Saved)`,
            `${t}.600000+00:00 mx1 postfix/qmgr[900]: ${q}: removed`,
        ]);
        try {
            for (const width of [1280, 800]) {
                await ap.setViewportSize({ width, height: 800 });
                await listLoad(ap, 'access', () => ap.goto(base));
                await openTab(ap, 'received');
                const fit = await listFit(ap);
                assert.ok(fit.tableOverflow <= 1 && fit.pageOverflow <= 1, `${width}px: the list fits (${JSON.stringify(fit)})`);
                assert.ok(fit.lastRight <= fit.window, `${width}px: Message ID on screen (${JSON.stringify(fit)})`);
                assert.ok(fit.widths.Date >= 100, `${width}px: Date readable (${JSON.stringify(fit.widths)})`);
                // Icon-only controls have names.
                assert.equal(await ap.getByTestId('csv').getAttribute('aria-label'), 'Download CSV');
                const more = ap.locator('.pul-tabs__tab--more [role="tab"]');
                for (let i = 0; i < (await more.count()); i++) assert.equal(await more.nth(i).getAttribute('aria-label'), 'More tabs');
                // The long sender is in the first page (its mail is recent), cut, and whole in the tooltip.
                const cell = ap.locator('.ml-listtab tbody td', { hasText: local.slice(0, 40) }).first();
                const full = cell.locator(`[title="${sender}"]`);
                assert.equal(await full.count(), 1, 'full sender in the tooltip');
                const box = await cell.boundingBox();
                assert.ok(box.width < width / 2, `${width}px: sender cell cut (${box.width}px)`);
                await ap.locator(".ml-listtab[data-tab=\"received\"]").screenshot({ path: path.join(shots, `admin-long-sender-${width}.png`) });
            }
        } finally {
            await ap.setViewportSize({ width: 1280, height: 800 });
        }
        noErrors(admin);
    });

    await test("client: mail an address forwards off the server is the forwarding domain's, marked with the address it was sent to", async () => {
        const t = new Date((manifest.end - 2300) * 1000).toISOString().slice(0, 19);
        const q = '6B7C8D9E0F';
        ingestLines([
            `${t}.100000+00:00 mx1 postfix/smtpd[77201]: ${q}: client=mout.partner.test[198.51.100.78]`,
            `${t}.200000+00:00 mx1 postfix/cleanup[77202]: ${q}: message-id=<forward-test@partner.test>`,
            `${t}.300000+00:00 mx1 postfix/qmgr[900]: ${q}: from=<news@partner.test>, size=2121, nrcpt=1 (queue active)`,
            `${t}.400000+00:00 mx1 postfix/smtp[77203]: ${q}: to=<friend@gmail.test>, orig_to=<info@example.com>, relay=mx.gmail.test[192.0.2.25]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=5.7.1, status=bounced (host mx.gmail.test[192.0.2.25] said: 550 5.7.1 forwarded mail rejected (in reply to end of DATA command))`,
            `${t}.500000+00:00 mx1 postfix/qmgr[900]: ${q}: removed`,
        ]);
        await listLoad(cp, 'access', () => cp.goto(base));
        await openTab(cp, 'not-received');
        const res = await listLoad(cp, 'not-received', async () => {
            await cp.getByTestId('search').fill('forward-test');
            await cp.getByTestId('search').press('Enter');
        });
        assert.equal(res.total, 1, 'the bounced forward is in example.com\'s Not received');
        assert.equal(res.rows[0].mailbox, 'friend@gmail.test');
        assert.equal(res.rows[0].orig_to, 'info@example.com');
        const label = cp.getByTestId('forwarded');
        assert.equal((await label.textContent()).replace(/\s+/g, ' ').trim(), 'friend@gmail.test (sent to info@example.com)');
        // Both addresses in the tooltip: a long one can push the note out of the cell.
        assert.equal(await label.getAttribute('title'), 'friend@gmail.test — sent to info@example.com');
        assert.equal(await label.locator('[title]').count(), 0, 'no inner tooltip hides it');
        noErrors(cli);
    });

    await test('log data is shown as text, never as HTML (new lines ingested incrementally)', async () => {
        // Lines a hostile sender can cause, appended the way syslog would and
        // picked up by the next ingest run.
        const t = new Date((manifest.end - 1800) * 1000).toISOString().slice(0, 19);
        const q = '4F5E6D7C8B';
        const from = '"<script>window.__xss=2</script>"@evil.test';
        const lines = [
            `${t}.100000+00:00 mx1 postfix/smtpd[77001]: connect from evil.test[203.0.113.66]`,
            `${t}.200000+00:00 mx1 postfix/smtpd[77001]: ${q}: client=evil.test[203.0.113.66]`,
            `${t}.300000+00:00 mx1 postfix/cleanup[77002]: ${q}: message-id=<<img src=x onerror=window.__xss=1>@evil.test>`,
            `${t}.400000+00:00 mx1 postfix/qmgr[900]: ${q}: from=<${from}>, size=4242, nrcpt=1 (queue active)`,
            `${t}.500000+00:00 mx1 postfix/lmtp[77003]: ${q}: to=<info@example.com>, relay=mx1[private/dovecot-lmtp], delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <info@example.com> <b>Saved</b>)`,
            `${t}.600000+00:00 mx1 postfix/qmgr[900]: ${q}: removed`,
        ];
        fs.appendFileSync(path.join(demoDir, 'mail.log'), lines.join('\n') + '\n');
        execFileSync(path.join(top, 'build/maillog'), ['ingest', '--quiet', '--config', path.join(demoDir, 'maillog.ini')], { stdio: 'inherit' });
        await listLoad(ap, 'access', () => ap.goto(base));
        await openTab(ap, 'received');
        const res = await listLoad(ap, 'received', async () => {
            await ap.getByTestId('search').fill('evil.test');
            await ap.getByTestId('search').press('Enter');
        });
        assert.equal(res.total, 1, 'the new mail was ingested and is found');
        const [row] = await table(ap);
        assert.ok(row.Sender.includes('<script>window.__xss=2</script>'), `sender shown literally: ${row.Sender}`);
        assert.ok(row['Message ID'].includes('onerror'), `message id shown literally: ${row['Message ID']}`);
        await Promise.all([ap.waitForResponse((r) => /\/v1\/messages\//.test(r.url())), ap.getByTestId('open-trace').click()]);
        const traceText = await ap.getByTestId('trace-lines').textContent();
        assert.ok(traceText.includes('<b>Saved</b>'), 'raw line shown literally');
        await shot(ap, 'admin-hostile-data');
        const injected = await ap.evaluate(() => ({
            xss: window.__xss,
            img: document.querySelectorAll('img[src="x"]').length,
            bold: [...document.querySelectorAll('b')].filter((b) => b.textContent === 'Saved').length,
        }));
        assert.deepEqual(injected, { xss: undefined, img: 0, bold: 0 });
        await ap.keyboard.press('Escape');
        noErrors(admin);
    });

    await test('Plesk mount: admin view, both CSRF headers on PUT', async () => {
        const page = await admin.ctx.newPage();
        const html = `<!doctype html><html><head><meta charset="utf-8">
<meta name="forgery_protection_token" content="plesk-token-123">
<link rel="stylesheet" href="/dist/main.css?v=42"></head><body>
<div id="maillog-root" data-api-base="/cgi-bin/maillog.cgi" data-mode="plesk" data-view="admin" data-domain=""></div>
<script src="/dist/main.js?v=42" defer></script></body></html>`;
        await page.route(`${base}plesk-page`, (r) => r.fulfill({ status: 200, contentType: 'text/html', body: html }));
        await page.goto(`${base}plesk-page`);
        const form = page.getByTestId('admin-settings');
        await form.waitFor();
        assert.equal(await page.getByTestId('whoami').count(), 0, 'no standalone header inside Plesk');
        await page.getByTestId('log-tail').waitFor();
        const [put] = await Promise.all([
            page.waitForRequest((r) => r.url().endsWith('/v1/settings') && r.method() === 'PUT'),
            form.getByRole('button', { name: 'Save' }).click(),
        ]);
        const h = put.headers();
        assert.equal(h['x-forgery-protection-token'], 'plesk-token-123');
        const me = await apiAs(admin, 'GET', '/me');
        assert.equal(h['x-maillog-csrf'], me.body.csrf_token);
        await page.getByTestId('saved').waitFor();
        await page.close();
        noErrors(admin);
    });

    await test('Plesk mount: subscription view opens the preselected domain, icons beside main.js?v=', async () => {
        const page = await res1.ctx.newPage();
        const html = `<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/dist/main.css"></head><body>
<div id="maillog-root" data-api-base="/cgi-bin/maillog.cgi" data-mode="plesk" data-view="subscription" data-domain="example.net"></div>
<script src="/dist/main.js?v=7" defer></script></body></html>`;
        await page.route(`${base}plesk-sub`, (r) => r.fulfill({ status: 200, contentType: 'text/html', body: html }));
        const res = await listLoad(page, 'access', () => page.goto(`${base}plesk-sub`));
        assert.equal(await page.getByTestId('domain-select').inputValue(), 'example.net');
        assert.ok(res.rows.length > 0);
        for (const r of await table(page)) assert.match(r.Mailbox, /@example\.net$/);
        // Icons point into the sprite beside main.js, whatever the page's URL.
        const href = await page.getByTestId('csv').locator('svg use').getAttribute('href');
        assert.ok(href.startsWith(`${base}dist/symbols.svg#`), href);
        const sprite = await page.request.get(href.split('#')[0]);
        assert.equal(sprite.status(), 200, 'icon sprite served');
        await page.close();
        noErrors(res1);
    });

    for (const r of roles) {
        await test(`${r.user}: no console errors over the whole run`, async () => noErrors(r));
    }
}

main().catch((e) => {
    console.error(e);
    try {
        execFileSync(path.join(top, 'scripts/demo.sh'), ['--stop', '--dir', demoDir], { stdio: 'inherit' });
    } catch {
        /* already stopped */
    }
    process.exit(1);
});
