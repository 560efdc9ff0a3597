// TraceDrawer.jsx — the full trace of one mail (GET /v1/messages/{id}) in a
// side drawer: the message, one row per delivery attempt/hop, the reinjection
// and bounce chain, and the raw log lines (as text, never as HTML).
import { useEffect, useRef, useState } from 'react';
import { Alert, Button, Drawer, Heading, List, Spinner, Status, Text } from '@plesk/ui-library';
import { countryLabel, humanSize, localTime, STATUS_INTENT, statusLabel } from './format.js';

const RELATION = {
    parent: 'comes from (before the content filter)',
    child: 'continues as (after the content filter)',
    dsn: 'bounce notification sent for it',
    dsn_of: 'is the bounce notification of',
};

function Facts({ m }) {
    const facts = [
        ['Message ID', m.msgid],
        ['Queue ID', m.queue_id || 'none: refused before it was queued'],
        ['Server', m.host],
        ['Date', localTime(m.date)],
        ['Sender', m.sender || '<>'],
        ['Size', m.size ? `${humanSize(m.size)} (${m.size} bytes)` : ''],
        ['Client', [m.client_host, m.client_ip].filter(Boolean).join(' ')],
        ['Country', m.client_ip ? countryLabel(m.country, m.country_name) : ''],
        ['Authenticated as', m.sasl_username],
        ['Origin', m.origin],
    ].filter(([, v]) => v !== undefined && v !== null && v !== '');
    return (
        <dl className="ml-facts">
            {facts.map(([k, v]) => (
                <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                </div>
            ))}
        </dl>
    );
}

// The drawer follows the related messages: a click on one shows it, and
// "Back" returns along the way taken.
export default function TraceDrawer({ api, id, onClose }) {
    const [path, setPath] = useState([id]);
    const [data, setData] = useState(null);
    const [error, setError] = useState(null);
    const [attempt, setAttempt] = useState(0);
    const current = path[path.length - 1];
    const box = useRef(null);
    // A click on "Back" or a related message replaces the button clicked:
    // focus stays in the drawer (Escape still closes it).
    const go = (next) => {
        setPath(next);
        if (box.current) box.current.focus();
    };

    useEffect(() => setPath([id]), [id]);
    useEffect(() => {
        let live = true;
        setData(null);
        setError(null);
        api.get(`/messages/${encodeURIComponent(current)}`).then(
            (d) => live && setData(d),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, current, attempt]);

    const deliveries = data ? data.deliveries || [] : [];
    return (
        <Drawer isOpen title="Message trace" subtitle={data ? data.message.msgid : undefined} size="lg" onClose={onClose}>
            <div data-testid="trace" ref={box} tabIndex={-1} className="ml-trace">
                {error ? (
                    <Alert intent="danger" data-testid="trace-error" role="alert">
                        <p className="ml-alert-title">The message trace could not be loaded.</p>
                        <p>{error.message}</p>
                        <Button data-testid="retry" onClick={() => setAttempt((n) => n + 1)}>
                            Retry
                        </Button>
                    </Alert>
                ) : null}
                {!data && !error ? <Spinner /> : null}
                {path.length > 1 ? (
                    <button type="button" className="ml-linkbutton" data-testid="trace-back" onClick={() => go(path.slice(0, -1))}>
                        ← Back to the previous message
                    </button>
                ) : null}
                {data ? (
                    <>
                        <Facts m={data.message} />
                        <Heading level={4}>Deliveries</Heading>
                        <List
                            rowKey={(r) => `${r.recipient}|${r.date}|${r.relay}|${deliveries.indexOf(r)}`}
                            data={deliveries}
                            columns={[
                                { key: 'recipient', title: 'Recipient', type: 'title', render: (r) => r.recipient + (r.orig_to && r.orig_to !== r.recipient ? ` (to ${r.orig_to})` : '') },
                                { key: 'date', title: 'Date', render: (r) => <span className="ml-nowrap">{localTime(r.date)}</span> },
                                {
                                    key: 'status',
                                    title: 'Status',
                                    render: (r) => (
                                        <Status intent={STATUS_INTENT[r.status] || 'info'} compact>
                                            {statusLabel(r.status)}
                                        </Status>
                                    ),
                                },
                                {
                                    key: 'relay',
                                    title: 'Relay',
                                    truncate: true,
                                    cellProps: { className: 'ml-col-relay' },
                                    render: (r) => {
                                        const v = r.relay + (r.is_hop ? ' (hop)' : '');
                                        return <span title={v}>{v}</span>;
                                    },
                                },
                                { key: 'dsn', title: 'DSN', render: (r) => r.dsn },
                                { key: 'delay', title: 'Delay', render: (r) => (r.delay !== undefined && r.delay !== null ? `${r.delay} s` : '') },
                                { key: 'attempts', title: 'Attempts', render: (r) => r.attempts },
                                {
                                    key: 'status_text',
                                    title: 'Details',
                                    cellProps: { className: 'ml-col-details' },
                                    render: (r) => (
                                        <>
                                            {r.reason ? (
                                                <div className="ml-reason" data-testid="trace-reason">
                                                    {r.reason}
                                                </div>
                                            ) : null}
                                            <Text intent="muted" className="ml-details">
                                                {r.status_text}
                                            </Text>
                                        </>
                                    ),
                                },
                            ]}
                        />
                        {data.deliveries_hidden ? (
                            <Text intent="muted" data-testid="trace-hidden">
                                {data.deliveries_hidden === 1 ? '1 recipient' : `${data.deliveries_hidden} recipients`} in domains outside your account
                                {data.lines_hidden ? ' (and the log lines naming them)' : ''} not shown.
                            </Text>
                        ) : null}
                        {data.chain && data.chain.length ? (
                            <>
                                <Heading level={4}>Related messages</Heading>
                                <ul className="ml-chain" data-testid="trace-chain">
                                    {data.chain.map((c) => (
                                        <li key={`${c.id}-${c.relation}`}>
                                            {RELATION[c.relation] || c.relation}:{' '}
                                            <button
                                                type="button"
                                                className="ml-linkbutton"
                                                data-testid="trace-related"
                                                title="Open this message's trace"
                                                onClick={() => go([...path, c.id])}
                                            >
                                                queue {c.queue_id || '(none)'}
                                            </button>
                                        </li>
                                    ))}
                                </ul>
                            </>
                        ) : null}
                        <Heading level={4}>Log lines</Heading>
                        <pre className="ml-loglines" data-testid="trace-lines">
                            {(data.lines || []).join('\n')}
                        </pre>
                    </>
                ) : null}
            </div>
        </Drawer>
    );
}
