// AlertHistory.jsx — "Recent notifications" under a domain's settings
// (GET /v1/domains/{domain}/alerts): each suspicious-login report of the last
// days, whether the mail server accepted it and, if not, why; and each new
// password it carried, whether it is in force. So an owner who turned
// notifications on can see they work, and one whose mails do not arrive can
// see why before asking. Never shows a password (the API has none).
import { useEffect, useState } from 'react';
import { Alert, Button, Skeleton } from '@plesk/ui-library';
import { localTime } from './format.js';

// How long the alert run retries a report: ALERT_RETRY_HOURS (alert.h)
// from the start of its hour.
const RETRY_S = 168 * 3600;

// How sending a report went, in words (states: alert.h). A pending report
// with an error was refused and waits for the next run (while notifications
// are on: off, it is no longer retried); without one it is being sent.
function reportStatus(r, notify) {
    switch (r.state) {
        case 'sent':
            return { intent: 'success', text: `Sent ${localTime(r.updated_at).slice(0, 16)}` };
        case 'failed':
            return { intent: 'danger', text: `Not sent: gave up after ${r.attempts} attempts` };
        case 'pending':
            if (!r.error) return { intent: 'info', text: 'Being sent' };
            return notify
                ? {
                      intent: 'warning',
                      text: `Not delivered yet (${r.attempts} ${r.attempts === 1 ? 'attempt' : 'attempts'}): retried every hour until ${localTime(r.hour_start + RETRY_S).slice(0, 16)}`,
                  }
                : { intent: 'warning', text: 'Not delivered, and not retried while notifications are off' };
        case 'sending':
            return { intent: 'info', text: 'Being sent' };
        default:
            return { intent: 'info', text: r.state };
    }
}

// What became of a new password (password_changes states: alert.h);
// withheld: the report carried none (it went to one of its own mailboxes).
export function passwordStatus(state, withheld) {
    const [what, told] = state.split('_');
    const notice =
        told === 'notified' ? ' (a second mail said so)' : told === 'unnotified' ? ' (the mail saying so could not be sent)' : '';
    switch (what) {
        case 'changed':
            return withheld
                ? 'changed, but not sent (the report went to this domain’s own mailbox): set a new password in the control panel'
                : 'changed: the password in the mail is in force';
        case 'failed':
            return `not changed: the old password still works${notice}`;
        case 'abandoned':
            return `not changed: interrupted before the change${notice}`;
        case 'unsure':
            return `may not have changed: set a new password in the control panel${notice}`;
        case 'pending':
        case 'changing':
            return 'being changed';
        default:
            return state;
    }
}

const hourText = (r) => `${localTime(r.hour_start).slice(0, 16)}–${localTime(r.hour_end).slice(11, 16)}`;

export default function AlertHistory({ api, domain, notify }) {
    const [reports, setReports] = useState(null);
    const [error, setError] = useState(null);
    const [attempt, setAttempt] = useState(0);
    const path = `/domains/${encodeURIComponent(domain)}/alerts`;

    useEffect(() => {
        let live = true;
        setReports(null);
        setError(null);
        api.get(path).then(
            (doc) => live && setReports(doc.reports || []),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, path, attempt]);

    let body;
    if (error)
        body = (
            <Alert intent="danger" data-testid="alert-history-error">
                <p className="ml-alert-title">The recent notifications could not be loaded.</p>
                <p>{error.message}</p>
                <Button onClick={() => setAttempt((n) => n + 1)}>Retry</Button>
            </Alert>
        );
    else if (!reports) body = <Skeleton height={60} />;
    else if (!reports.length)
        body = (
            <p className="ml-muted" data-testid="alert-history-empty">
                {notify
                    ? 'No report in the last days: one appears here for each hour a login from an unusual country is found.'
                    : 'Notifications are off: no report is made.'}
            </p>
        );
    else
        body = (
            <table className="ml-alert-history" data-testid="alert-history">
                <thead>
                    <tr>
                        <th scope="col">Logins of the hour</th>
                        <th scope="col">Report mail</th>
                        <th scope="col">New passwords</th>
                    </tr>
                </thead>
                <tbody>
                    {reports.map((r) => {
                        const st = reportStatus(r, notify);
                        const more = r.passwords_total - r.passwords.length;
                        return (
                            <tr key={r.hour_start} data-hour={r.hour_start} data-state={r.state}>
                                <td className="ml-nowrap">{hourText(r)}</td>
                                <td>
                                    <span className={`ml-report-state ml-report-state--${st.intent}`}>{st.text}</span>
                                    {r.error ? <div className="ml-muted ml-report-error">{r.error}</div> : null}
                                </td>
                                <td>
                                    {r.passwords.length ? (
                                        <ul className="ml-passwords">
                                            {r.passwords.map((p) => (
                                                <li key={p.mailbox} data-mailbox={p.mailbox} data-state={p.state}>
                                                    <span className="ml-mailbox">{p.mailbox}</span>: {passwordStatus(p.state, r.passwords_withheld)}
                                                </li>
                                            ))}
                                            {more > 0 ? <li className="ml-muted">{`and ${more} more`}</li> : null}
                                        </ul>
                                    ) : (
                                        <span className="ml-muted">none</span>
                                    )}
                                </td>
                            </tr>
                        );
                    })}
                </tbody>
            </table>
        );
    return (
        <section className="ml-alert-history-box" aria-label="Recent notifications" data-testid="alert-history-box">
            <h3>Recent notifications</h3>
            {body}
        </section>
    );
}
