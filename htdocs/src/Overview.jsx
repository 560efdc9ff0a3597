// Overview.jsx — the summary above the lists, from GET /v1/stats: totals per
// tab, mails per hour or day stacked by status (plain SVG), and mailbox logins
// by country (ok / failed bars).
import { useEffect, useState } from 'react';
import { Alert, SegmentedControl, Skeleton } from '@plesk/ui-library';
import { countryLabel, localTime, utcDay } from './format.js';

const STATUSES = ['sent', 'deferred', 'bounced', 'expired', 'rejected', 'discarded'];
const COLORS = {
    sent: '#629a1e',
    deferred: '#ffb633',
    bounced: '#d02d4b',
    expired: '#7b0319',
    rejected: '#f24263',
    discarded: '#979797',
};

function MailChart({ buckets, bucket }) {
    const W = 640;
    const H = 140;
    const pad = { l: 34, r: 8, t: 8, b: 22 };
    const sums = buckets.map((b) => STATUSES.reduce((s, k) => s + (b[k] || 0), 0));
    const max = Math.max(1, ...sums);
    const n = Math.max(1, buckets.length);
    const bw = (W - pad.l - pad.r) / n;
    const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
    const labelEvery = Math.max(1, Math.ceil(n / 8));
    const fmt = (t) => (bucket === 'day' ? utcDay(t) : localTime(t).slice(5, 16));
    return (
        <figure className="ml-chart">
            <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Mails per ${bucket} by status`} width="100%" height={H}>
                <line x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} stroke="#ccc" />
                <text x={pad.l - 4} y={y(max) + 4} textAnchor="end" className="ml-axis">
                    {max}
                </text>
                <text x={pad.l - 4} y={y(0)} textAnchor="end" className="ml-axis">
                    0
                </text>
                {buckets.map((b, i) => {
                    let acc = 0;
                    return (
                        <g key={b.t}>
                            <title>{`${fmt(b.t)}: ${STATUSES.filter((k) => b[k]).map((k) => `${b[k]} ${k}`).join(', ') || 'none'}`}</title>
                            {STATUSES.map((k) => {
                                const v = b[k] || 0;
                                if (!v) return null;
                                const r = (
                                    <rect
                                        key={k}
                                        x={pad.l + i * bw + 1}
                                        width={Math.max(1, bw - 2)}
                                        y={y(acc + v)}
                                        height={y(acc) - y(acc + v)}
                                        fill={COLORS[k]}
                                    />
                                );
                                acc += v;
                                return r;
                            })}
                            {i % labelEvery === 0 ? (
                                <text x={pad.l + i * bw + bw / 2} y={H - 6} textAnchor="middle" className="ml-axis">
                                    {fmt(b.t)}
                                </text>
                            ) : null}
                        </g>
                    );
                })}
            </svg>
            <figcaption className="ml-legend">
                {STATUSES.map((k) => (
                    <span key={k}>
                        <i style={{ background: COLORS[k] }} /> {k}
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

const TOTALS = [
    ['received', 'Received'],
    ['sent', 'Sent'],
    ['not_received', 'Not received'],
    ['not_sent', 'Not sent'],
    ['access_ok', 'Logins'],
    ['access_failed', 'Failed logins'],
];

// How current the numbers are: the start of the last analysis run that read
// the whole log (GET /v1/stats log_read_to). Older than STALE_S, or never,
// means the analysis cron is off or failing: said plainly, since every tab
// and every alert waits for it.
const STALE_S = 30 * 60;

function Freshness({ readTo }) {
    if (readTo === null || readTo === undefined)
        return (
            <Alert intent="warning" data-testid="freshness">
                The mail log has not been analysed yet: lists and alerts start once the analysis cron has run.
            </Alert>
        );
    const stale = Date.now() / 1000 - readTo > STALE_S;
    const text = `Mail log analysed up to ${localTime(readTo)}`;
    return stale ? (
        <Alert intent="warning" data-testid="freshness">
            {text}. Nothing newer is shown or checked for alerts: is the analysis cron running?
        </Alert>
    ) : (
        <p className="ml-freshness" data-testid="freshness">
            {text}.
        </p>
    );
}

export default function Overview({ api, domain }) {
    const [bucket, setBucket] = useState('day');
    const [stats, setStats] = useState(null);
    const [error, setError] = useState(null);

    useEffect(() => {
        let live = true;
        setError(null);
        api.get('/stats', { domain: domain || undefined, bucket }).then(
            (s) => live && setStats(s),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, domain, bucket]);

    if (error) return <Alert intent="warning">Overview unavailable: {error.message}</Alert>;
    if (!stats) return <Skeleton height={160} />;
    const t = stats.totals || {};
    return (
        <section className="ml-overview" aria-label="Overview" data-testid="overview">
            <Freshness readTo={stats.log_read_to} />
            <div className="ml-totals">
                {TOTALS.map(([k, label]) => (
                    <div key={k} className="ml-total" data-total={k}>
                        <strong>{t[k] ?? 0}</strong>
                        <span>{label}</span>
                    </div>
                ))}
            </div>
            <div className="ml-overview-panels">
                <div className="ml-panel">
                    <div className="ml-panel-head">
                        <h3>Mails per {bucket === 'day' ? 'day (UTC)' : 'hour'}</h3>
                        <SegmentedControl
                            buttons={[
                                { title: 'Hours', value: 'hour' },
                                { title: 'Days', value: 'day' },
                            ]}
                            selected={bucket}
                            onChange={setBucket}
                        />
                    </div>
                    <MailChart buckets={stats.buckets || []} bucket={bucket} />
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
