// AdminPage.jsx — the extension's admin page: global settings
// (GET|PUT /v1/settings), a test report (POST /v1/alerts/test), every
// domain's notifications (GET /v1/alerts/domains) and the last lines of the
// mail log
// (GET /v1/log-tail, or a notice when MaxLines is 0) with a filter box.
// Validation errors from the API (error.field) are shown next to the field.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import {
    Alert,
    Button,
    Form,
    FormFieldCheckbox,
    FormFieldSelect,
    FormFieldText,
    Heading,
    Input,
    Section,
    SelectOption,
    Skeleton,
} from '@plesk/ui-library';
import { fieldMessage, localTime, splitList, splitTerms } from './format.js';

const toForm = (s) => ({
    retention_days: String(s.retention_days ?? ''),
    cron_enabled: Boolean(s.cron_enabled),
    ignore_terms_imap: (s.ignore_terms_imap || []).join(', '),
    ignore_terms_smtp: (s.ignore_terms_smtp || []).join(', '),
    hide_from_clients: Boolean(s.hide_from_clients),
    hide_from_resellers: Boolean(s.hide_from_resellers),
    client_config_visibility: s.client_config_visibility || 'editable',
    excluded_ips: (s.excluded_ips || []).join(', '),
});

// The number is sent as typed when it is not an integer, so that the API's
// own validation (and its message) decides.
const fromForm = (v) => {
    const t = String(v.retention_days).trim();
    return {
        retention_days: /^-?\d+$/.test(t) ? Number(t) : t,
        cron_enabled: Boolean(v.cron_enabled),
        ignore_terms_imap: splitTerms(v.ignore_terms_imap),
        ignore_terms_smtp: splitTerms(v.ignore_terms_smtp),
        hide_from_clients: Boolean(v.hide_from_clients),
        hide_from_resellers: Boolean(v.hide_from_resellers),
        client_config_visibility: v.client_config_visibility,
        excluded_ips: splitList(v.excluded_ips),
    };
};

// A failed load, said with a heading and a Retry button (as the lists do).
function LoadError({ what, error, onRetry, testid }) {
    return (
        <Alert intent="danger" data-testid={testid} role="alert">
            <p className="ml-alert-title">{what} could not be loaded.</p>
            <p>{error.message}</p>
            <Button data-testid="retry" onClick={onRetry}>
                Retry
            </Button>
        </Alert>
    );
}

function Settings({ api }) {
    const [values, setValues] = useState(null);
    const [errors, setErrors] = useState({});
    const [error, setError] = useState(null);
    const [saved, setSaved] = useState(false);
    const [state, setState] = useState(undefined);
    const [attempt, setAttempt] = useState(0);

    useEffect(() => {
        let live = true;
        setError(null);
        api.get('/settings').then(
            (s) => live && setValues(toForm(s)),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, attempt]);

    if (error && !values)
        return <LoadError what="The settings" error={error} onRetry={() => setAttempt((n) => n + 1)} testid="settings-error" />;
    if (!values) return <Skeleton height={300} />;

    const submit = async (v) => {
        setState('submit');
        setErrors({});
        setError(null);
        setSaved(false);
        try {
            setValues(toForm(await api.put('/settings', fromForm(v))));
            setSaved(true);
        } catch (e) {
            // shown under the field it names (one the form has), else above the form
            if (e.field && Object.hasOwn(v, e.field)) setErrors({ [e.field]: { api: fieldMessage(e.message, e.field) } });
            else setError(e);
        } finally {
            setState(undefined);
        }
    };
    const days = Number(values.retention_days);

    return (
        <div data-testid="admin-settings">
            {error ? <Alert intent="danger">{error.message}</Alert> : null}
            {saved ? (
                <Alert intent="success" data-testid="saved">
                    Settings saved.
                </Alert>
            ) : null}
            <Form
                values={values}
                errors={errors}
                state={state}
                onFieldChange={(name, value) => {
                    setSaved(false);
                    setValues((old) => ({ ...old, [name]: value }));
                }}
                onSubmit={submit}
                submitButton={{ children: 'Save', 'data-testid': 'save' }}
                applyButton={false}
                cancelButton={false}
            >
                <Section title="Records">
                    <FormFieldText
                        name="retention_days"
                        label="Number of days to store logs in DB (recommended: 7 days)"
                        description="The database can grow significantly with a longer period and listing records gets slower: busy servers log many records per day."
                        inputMode="numeric"
                        size="sm"
                    />
                    {days > 7 ? (
                        <Alert intent="warning" data-testid="retention-warning">
                            Keeping more than 7 days makes the database grow and the lists slower.
                        </Alert>
                    ) : null}
                    <FormFieldCheckbox
                        name="cron_enabled"
                        label="Activate mail log analysis cron"
                        description="Turn off only during server maintenance: while it is off, no new records appear and no suspicious-login report is sent (hours more than 24 hours old when it is back on are never reported)."
                    />
                    <FormFieldText
                        name="ignore_terms_imap"
                        label="Ignore POP/IMAP records with these terms in the status"
                        description="Separated by commas. Hides IMAP, POP3 and ManageSieve logins whose status contains one (not case-sensitive); they are not counted either."
                        size="fill"
                    />
                    <FormFieldText
                        name="ignore_terms_smtp"
                        label="Ignore SMTP records with these terms in the status"
                        description="Separated by commas. Hides mails and SMTP logins whose status contains one; they are not counted either. Useful with a Postfix content filter, which logs some mails twice."
                        size="fill"
                    />
                </Section>
                <Section title="Visibility">
                    <FormFieldCheckbox name="hide_from_clients" label="Hide the extension from clients (show only to the administrator)" />
                    <FormFieldCheckbox name="hide_from_resellers" label="Hide the extension from resellers" />
                    <FormFieldSelect name="client_config_visibility" label="Visibility of the configuration tab for clients and resellers">
                        <SelectOption value="hidden">Hide config tab (show only to the administrator)</SelectOption>
                        <SelectOption value="readonly">Show config tab read-only</SelectOption>
                        <SelectOption value="editable">Show config tab and allow changes</SelectOption>
                    </FormFieldSelect>
                </Section>
                <Section title="Suspicious login checks">
                    <FormFieldText
                        name="excluded_ips"
                        label="Exclude these IPs from the check"
                        description="IP addresses or CIDR ranges (IPv4 or IPv6), separated by commas; for every domain."
                        size="fill"
                    />
                </Section>
            </Form>
        </div>
    );
}

function LogTail({ api, enabled }) {
    const [tail, setTail] = useState(null);
    const [error, setError] = useState(null);
    const [filter, setFilter] = useState('');
    const [disabled, setDisabled] = useState(!enabled);
    const [attempt, setAttempt] = useState(0);
    const pre = useRef(null);

    useEffect(() => {
        if (!enabled) return undefined;
        let live = true;
        setError(null);
        api.get('/log-tail').then(
            (t) => live && setTail(t),
            (e) => {
                if (!live) return;
                if (e.status === 404) setDisabled(true);
                else setError(e);
            },
        );
        return () => {
            live = false;
        };
    }, [api, enabled, attempt]);

    const shown = useMemo(() => {
        if (!tail) return [];
        const f = filter.trim().toLowerCase();
        return f ? tail.lines.filter((l) => l.toLowerCase().includes(f)) : tail.lines;
    }, [tail, filter]);

    // Opens at the newest line (the bottom), as `tail` does.
    useLayoutEffect(() => {
        if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
    }, [shown]);

    if (disabled)
        return (
            <Alert intent="info" data-testid="log-tail-disabled">
                The log lines are disabled (MaxLines = 0 in the [ext-mail-log] section of panel.ini).
            </Alert>
        );
    if (error)
        return <LoadError what="The log lines" error={error} onRetry={() => setAttempt((n) => n + 1)} testid="log-tail-error" />;
    if (!tail) return <Skeleton height={200} />;
    return (
        <div data-testid="log-tail">
            <div className="ml-tail-head">
                <Input
                    type="search"
                    aria-label="Filter log lines"
                    placeholder="Filter lines…"
                    value={filter}
                    onChange={(e) => setFilter(e.target.value)}
                    data-testid="tail-filter"
                />
                <span className="ml-muted" data-testid="tail-count">
                    {shown.length} of {tail.lines.length} lines from {tail.path} (at most {tail.max_lines})
                </span>
            </div>
            <pre ref={pre} className="ml-loglines ml-tail" tabIndex={0} data-testid="tail-lines">
                {shown.join('\n')}
            </pre>
        </div>
    );
}

// A sample report through the SMTP server of maillog.ini (POST
// /v1/alerts/test): whether reports can reach their owners at all, with the
// server's answer when they cannot.
function TestReport({ api }) {
    const [to, setTo] = useState('');
    const [result, setResult] = useState(null);
    const [busy, setBusy] = useState(false);

    const send = async (event) => {
        event.preventDefault();
        const address = to.trim();
        setBusy(true);
        setResult(null);
        try {
            await api.post('/alerts/test', { to: address });
            setResult({ ok: true, text: `The mail server accepted the test report for ${address}. Check that it arrives.` });
        } catch (e) {
            setResult({ ok: false, text: `The test report was not sent: ${e.message}` });
        } finally {
            setBusy(false);
        }
    };
    return (
        <form className="ml-test-report" data-testid="test-report" onSubmit={send}>
            <p className="ml-muted">
                Sends a sample suspicious-login report (no real data, no password change) through the SMTP server set in maillog.ini, as the
                hourly reports are sent.
            </p>
            <div className="ml-tail-head">
                <Input
                    type="email"
                    aria-label="Address for the test report"
                    placeholder="you@example.com"
                    value={to}
                    onChange={(e) => setTo(e.target.value)}
                    data-testid="test-report-to"
                />
                <Button type="submit" state={busy ? 'loading' : undefined} disabled={!to.trim()} data-testid="test-report-send">
                    Send a test report
                </Button>
            </div>
            {result ? (
                <Alert intent={result.ok ? 'success' : 'danger'} data-testid="test-report-result">
                    {result.text}
                </Alert>
            ) : null}
        </form>
    );
}

// How sending a domain's newest report went, in words (alert.h states).
function lastReportText(r) {
    if (!r) return 'none yet';
    const hour = localTime(r.hour_start).slice(0, 16);
    const what =
        r.state === 'sent'
            ? 'sent'
            : r.state === 'failed'
              ? 'not sent (gave up)'
              : r.state === 'pending' && r.error
                ? 'not delivered yet'
                : 'being sent';
    return `${hour}: ${what}`;
}

// Every domain's suspicious-login notifications at a glance (GET
// /v1/alerts/domains): which are protected, where their reports go, and
// whether the newest one got through.
function DomainAlerts({ api }) {
    const [doc, setDoc] = useState(null);
    const [error, setError] = useState(null);
    const [attempt, setAttempt] = useState(0);

    useEffect(() => {
        let live = true;
        setError(null);
        api.get('/alerts/domains').then(
            (d) => live && setDoc(d),
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, attempt]);

    if (error)
        return <LoadError what="The domains' notifications" error={error} onRetry={() => setAttempt((n) => n + 1)} testid="domain-alerts-error" />;
    if (!doc) return <Skeleton height={120} />;
    const rows = doc.domains || [];
    if (!rows.length) return <p className="ml-muted">No domains yet: the list comes from the control panel's domains.</p>;
    return (
        <div data-testid="domain-alerts">
            <table className="ml-alert-history">
                <thead>
                    <tr>
                        <th scope="col">Domain</th>
                        <th scope="col">Notifications</th>
                        <th scope="col">Usual countries</th>
                        <th scope="col">Reports go to</th>
                        <th scope="col">Newest report</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.map((d) => (
                        <tr key={d.domain} data-domain={d.domain}>
                            <td>{d.domain}</td>
                            <td>{d.notify ? (d.force_password_change ? 'on, with forced password change' : 'on') : 'off'}</td>
                            <td>{(d.usual_countries || []).join(', ') || <span className="ml-muted">none</span>}</td>
                            <td>
                                {d.notify_to ? (
                                    d.notify_to
                                ) : (
                                    <span className={d.notify ? 'ml-report-state--danger' : 'ml-muted'}>no usable owner address</span>
                                )}
                            </td>
                            <td>
                                {lastReportText(d.last_report)}
                                {d.last_report && d.last_report.error && d.last_report.state !== 'sent' ? (
                                    <div className="ml-muted ml-report-error">{d.last_report.error}</div>
                                ) : null}
                            </td>
                        </tr>
                    ))}
                </tbody>
            </table>
            {doc.total > rows.length ? <p className="ml-muted">{`The first ${rows.length} of ${doc.total} domains, by name.`}</p> : null}
        </div>
    );
}

export default function AdminPage({ api, me }) {
    return (
        <div className="ml-admin">
            <Settings api={api} />
            <Heading level={3} className="ml-section-heading">
                Suspicious-login reports: test the mail path
            </Heading>
            <TestReport api={api} />
            <Heading level={3} className="ml-section-heading">
                Suspicious-login reports by domain
            </Heading>
            <DomainAlerts api={api} />
            <Heading level={3} className="ml-section-heading">
                Last lines of the mail log
            </Heading>
            <LogTail api={api} enabled={me.log_tail_enabled !== false} />
        </div>
    );
}
