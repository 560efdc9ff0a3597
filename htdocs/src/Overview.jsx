// Overview.jsx — the summary above the lists, from GET /v1/stats: totals per
// tab, mails per hour or day stacked by status (plain SVG), and mailbox logins
// by country (ok / failed bars).
import { useEffect, useState } from 'react';
import { Alert, Button, SegmentedControl, Skeleton } from '@plesk/ui-library';
import { countryLabel, localTime, statusLabel, utcDay } from './format.js';

const STATUSES = ['sent', 'deferred', 'bounced', 'expired', 'rejected', 'discarded'];
const COLORS = {
    sent: '#629a1e',
    deferred: '#ffb633',
    bounced: '#d02d4b',
    expired: '#7b0319',
    rejected: '#f24263',
    discarded: '#979797',
};

const HOUR = 3600;
const DAY = 86400;

// The overview's period: from 00:00 UTC six days ago to the end of the
// current hour — seven UTC days, today's so far — the same for both bucket
// sizes, so the totals do not change with the chart's resolution.
export function overviewRange(nowMs) {
    const now = Math.floor(nowMs / 1000);
    const to = (Math.floor(now / HOUR) + 1) * HOUR;
    const from = Math.floor(now / DAY) * DAY - 6 * DAY;
    return { from, to };
}

// Mails per bucket, stacked by status. Bars are placed by their time over the
// whole requested range (the API leaves out empty buckets: those are gaps, not
// missing slots), and the axis labels are times too: days (local midnights
// for hours, UTC days for days).
function MailChart({ buckets, bucket, range }) {
    const W = 640;
    const H = 140;
    const pad = { l: 34, r: 8, t: 8, b: 22 };
    const size = bucket === 'day' ? DAY : HOUR;
    const first = Math.floor(range.from / size) * size;
    const last = Math.floor((range.to - 1) / size) * size;
    const n = Math.max(1, (last - first) / size + 1);
    const inRange = buckets.filter((b) => b.t >= first && b.t <= last);
    const sums = inRange.map((b) => STATUSES.reduce((s, k) => s + (b[k] || 0), 0));
    const max = Math.max(1, ...sums);
    const bw = (W - pad.l - pad.r) / n;
    const slot = (t) => Math.round((t - first) / size);
    const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
    const gap = bw > 4 ? 1 : 0;
    const fmt = (t) => (bucket === 'day' ? utcDay(t) : localTime(t).slice(0, 16));
    // Axis labels: every day boundary (UTC days; for hours, local midnights),
    // thinned out to at most 8.
    const ticks = [];
    for (let i = 0; i < n; i++) {
        const t = first + i * size;
        if (bucket === 'day') ticks.push({ i, t, text: utcDay(t).slice(5) });
        else if (i > 0 && localTime(t).slice(0, 10) !== localTime(t - size).slice(0, 10))
            ticks.push({ i, t, text: localTime(t).slice(5, 10) });
    }
    const every = Math.max(1, Math.ceil(ticks.length / 8));
    const shownTicks = ticks.filter((_, k) => k % every === 0);
    return (
        <figure className="ml-chart">
            <svg
                viewBox={`0 0 ${W} ${H}`}
                role="img"
                aria-label={`Mails per ${bucket} by status, ${fmt(first)} to ${fmt(last)}`}
                width="100%"
                height={H}
                data-testid="mail-chart"
                data-first={first}
                data-slots={n}
                data-slot-width={bw}
            >
                <line x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} stroke="#ccc" />
                <text x={pad.l - 4} y={y(max) + 4} textAnchor="end" className="ml-axis">
                    {max}
                </text>
                <text x={pad.l - 4} y={y(0)} textAnchor="end" className="ml-axis">
                    0
                </text>
                {shownTicks.map(({ i, t, text }) => {
                    const x = bucket === 'day' ? pad.l + i * bw + bw / 2 : pad.l + i * bw;
                    return (
                        <g key={`tick-${t}`} className="ml-tick" data-t={t}>
                            {bucket === 'day' ? null : <line x1={x} x2={x} y1={y(0)} y2={y(0) + 4} stroke="#ccc" />}
                            <text x={x} y={H - 6} textAnchor="middle" className="ml-axis">
                                {text}
                            </text>
                        </g>
                    );
                })}
                {inRange.map((b) => {
                    const x = pad.l + slot(b.t) * bw + gap;
                    let acc = 0;
                    return (
                        <g key={b.t} className="ml-bucket" data-t={b.t} data-x={x}>
                            <title>{`${fmt(b.t)}: ${STATUSES.filter((k) => b[k]).map((k) => `${b[k]} ${statusLabel(k)}`).join(', ') || 'none'}`}</title>
                            {STATUSES.map((k) => {
                                const v = b[k] || 0;
                                if (!v) return null;
                                const r = (
                                    <rect
                                        key={k}
                                        x={x}
                                        width={Math.max(1, bw - 2 * gap)}
                                        y={y(acc + v)}
                                        height={y(acc) - y(acc + v)}
                                        fill={COLORS[k]}
                                    />
                                );
                                acc += v;
                                return r;
                            })}
                        </g>
                    );
                })}
            </svg>
            <figcaption className="ml-legend">
                {STATUSES.map((k) => (
                    <span key={k}>
                        <i style={{ background: COLORS[k] }} /> {statusLabel(k)}
                    </span>
                ))}
            </figcaption>
        </figure>
    );
}

function Countries({ rows }) {
    const top = rows.slice(0, 8);
    const max = Math.max(1, ...top.map((r) => (r.ok || 0) + (r.failed || 0)));
    if (!top.length) return <p className="ml-muted">No mailbox logins in this period.</p>;
    return (
        <table className="ml-countries" data-testid="logins-by-country">
            <tbody>
                {top.map((r) => (
                    <tr key={r.country || 'local'}>
                        <th scope="row">{countryLabel(r.country, r.country_name)}</th>
                        <td>
                            <span className="ml-bar ml-bar--ok" style={{ width: `${(100 * (r.ok || 0)) / max}%` }} />
                            <span className="ml-bar ml-bar--failed" style={{ width: `${(100 * (r.failed || 0)) / max}%` }} />
                        </td>
                        <td className="ml-num">
                            {r.ok || 0} ok{r.failed ? `, ${r.failed} failed` : ''}
                        </td>
                    </tr>
                ))}
            </tbody>
        </table>
    );
}

// "Received" and "Sent" count every mail, "not received"/"not sent" are a
// part of them (the ones that failed): worded so, not as categories that add up.
const TOTALS = [
    ['received', 'Received (all)'],
    ['not_received', 'of which not received'],
    ['sent', 'Sent (all)'],
    ['not_sent', 'of which not sent'],
    ['access_ok', 'Successful logins'],
    ['access_failed', 'Failed logins'],
];

// How current the numbers are: the start of the last analysis run that read
// the whole log (GET /v1/stats log_read_to). Older than STALE_S, or never,
// means the analysis cron is off or failing: said plainly, since every tab
// and every alert waits for it.
const STALE_S = 30 * 60;

// The viewer's time zone, said once: every time on the page is in it (the
// raw log lines in a trace keep the server's stamps).
function zoneNote() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone ? ` (times shown in ${zone})` : '';
}

function Freshness({ readTo, admin }) {
    if (readTo === null || readTo === undefined)
        return (
            <Alert intent="warning" data-testid="freshness">
                {admin
                    ? 'The mail log has not been analysed yet: lists and alerts start once the analysis cron has run.'
                    : 'The mail log has not been analysed yet: lists and alerts start once it has been. If this lasts, contact your hosting provider.'}
            </Alert>
        );
    const stale = Date.now() / 1000 - readTo > STALE_S;
    const text = `Mail log analysed up to ${localTime(readTo)}${zoneNote()}`;
    return stale ? (
        <Alert intent="warning" data-testid="freshness">
            {admin
                ? `${text}. Nothing newer is shown or checked for alerts: is the analysis cron running?`
                : `${text}. The data may be behind: if this lasts, contact your hosting provider.`}
        </Alert>
    ) : (
        <p className="ml-freshness" data-testid="freshness">
            {text}.
        </p>
    );
}

// The admin's warning that suspicious-login reports are not getting through
// (GET /v1/stats alert_problems): owners believe they are warned while they
// are not. The domain's configuration tab lists each report.
function AlertProblems({ problems }) {
    const { failing_domains: failing, passwords_not_set: passwords, newest } = problems;
    const parts = [];
    if (failing)
        parts.push(
            `${failing} ${failing === 1 ? 'domain has' : 'domains have'} suspicious-login reports the mail server has not accepted` +
                (newest ? ` (latest: ${newest.domain}, hour of ${localTime(newest.hour_start).slice(0, 16)}: ${newest.error || newest.state})` : '') +
                '.',
        );
    if (passwords)
        parts.push(
            `${passwords} forced password ${passwords === 1 ? 'change was' : 'changes were'} not surely made: the old password may still work.`,
        );
    return (
        <Alert intent="warning" data-testid="alert-problems">
            {`${parts.join(' ')} Each domain's Configuration tab lists its reports.`}
        </Alert>
    );
}

// Whether the user folded the charts away (kept in the browser, for every
// page of the extension): the totals stay, the lists come up the page.
const CHARTS_KEY = 'maillog.charts';
function chartsHidden() {
    try {
        return window.localStorage.getItem(CHARTS_KEY) === 'hidden';
    } catch {
        return false; // storage refused (privacy settings): shown
    }
}
function rememberCharts(hidden) {
    try {
        if (hidden) window.localStorage.setItem(CHARTS_KEY, 'hidden');
        else window.localStorage.removeItem(CHARTS_KEY);
    } catch {
        /* not remembered: this page still follows the button */
    }
}

export default function Overview({ api, domain, admin, retentionDays }) {
    const [bucket, setBucket] = useState('day');
    const [hideCharts, setHideCharts] = useState(chartsHidden);
    const [stats, setStats] = useState(null);
    const [error, setError] = useState(null);
    const [attempt, setAttempt] = useState(0);

    useEffect(() => {
        let live = true;
        setError(null);
        const range = overviewRange(Date.now());
        api.get('/stats', { domain: domain || undefined, bucket, from: range.from, to: range.to }).then(
            (s) => live && setStats({ ...s, range, bucket }),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, domain, bucket, attempt]);

    if (error)
        return (
            <Alert intent="warning" data-testid="overview-error">
                <span className="ml-alert-row">
                    Overview unavailable: {error.message}
                    <Button onClick={() => setAttempt((n) => n + 1)}>Retry</Button>
                </span>
            </Alert>
        );
    if (!stats) return <Skeleton height={160} />;
    const t = stats.totals || {};
    return (
        <section className="ml-overview" aria-label="Overview" data-testid="overview">
            <Freshness readTo={stats.log_read_to} admin={admin} />
            {admin && stats.geoip_problem ? (
                <Alert intent="warning" data-testid="geoip-problem">
                    {`The GeoIP country database cannot be read (${stats.geoip_problem}): new logins get no country, and suspicious-login reports cannot judge them. Set geoip in maillog.ini to a country .mmdb file (see the README).`}
                </Alert>
            ) : null}
            {admin && stats.alert_problems ? <AlertProblems problems={stats.alert_problems} /> : null}
            <div className="ml-totals-row">
                <h3 className="ml-totals-head" data-testid="totals-period">
                    {`Last 7 days (6 UTC days and today so far) — the tabs below hold ${
                        retentionDays ? `the last ${retentionDays} ${retentionDays === 1 ? 'day' : 'days'} (records older are deleted)` : 'every day kept'
                    }`}
                </h3>
                <Button
                    ghost
                    size="sm"
                    data-testid="charts-toggle"
                    aria-expanded={!hideCharts}
                    aria-controls="ml-overview-panels"
                    onClick={() => {
                        rememberCharts(!hideCharts);
                        setHideCharts(!hideCharts);
                    }}
                >
                    {hideCharts ? 'Show charts' : 'Hide charts'}
                </Button>
            </div>
            <div className="ml-totals">
                {TOTALS.map(([k, label]) => (
                    <div key={k} className={k.startsWith('not_') ? 'ml-total ml-total--part' : 'ml-total'} data-total={k}>
                        <strong>{t[k] ?? 0}</strong>
                        <span>{label}</span>
                    </div>
                ))}
            </div>
            <div className="ml-overview-panels" id="ml-overview-panels" hidden={hideCharts} data-testid="overview-panels">
                <div className="ml-panel">
                    <div className="ml-panel-head">
                        <h3>Mails per {stats.bucket === 'day' ? 'day (UTC)' : 'hour'}, last 7 days</h3>
                        <SegmentedControl
                            buttons={[
                                { title: 'Hours', value: 'hour' },
                                { title: 'Days', value: 'day' },
                            ]}
                            selected={bucket}
                            onChange={setBucket}
                        />
                    </div>
                    <MailChart buckets={stats.buckets || []} bucket={stats.bucket} range={stats.range} />
                </div>
                <div className="ml-panel">
                    <div className="ml-panel-head">
                        <h3>Logins by country</h3>
                    </div>
                    <Countries rows={stats.logins_by_country || []} />
                </div>
            </div>
        </section>
    );
}
