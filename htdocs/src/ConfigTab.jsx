// ConfigTab.jsx — the "Configuration" tab: a domain's notification settings
// (GET|PUT /v1/domains/{domain}/settings). Usual countries, notifications,
// forced password change (only with notifications on), IP exceptions; below
// them what the notifications did lately (AlertHistory).
//
// Read-only when the API says `editable: false` (config_mode readonly): the
// fields are disabled and there is no Save button. Validation errors come
// from the API (error.field) and are shown next to that field.
import { useEffect, useState } from 'react';
import {
    Alert,
    Button,
    Form,
    FormFieldCheckbox,
    FormFieldSelect,
    FormFieldText,
    SelectOption,
    Skeleton,
} from '@plesk/ui-library';
import AlertHistory from './AlertHistory.jsx';
import { countryLabel, fieldMessage, splitList } from './format.js';

// What the chosen usual countries would mean, from the domain's logins of
// the last 7 days (GET /v1/stats logins_by_country): the successful ones from
// other countries, each of which would be reported (local addresses and
// unknown countries never are; IP exceptions are not counted here).
function UsualPreview({ logins, usual }) {
    if (!logins || !usual.length) return null;
    const other = logins.filter((c) => c.country && c.ok > 0 && !usual.includes(c.country));
    const total = other.reduce((n, c) => n + c.ok, 0);
    return (
        <p className="ml-muted ml-usual-preview" data-testid="usual-preview">
            {other.length
                ? `In the last 7 days, ${total} successful ${total === 1 ? 'login' : 'logins'} came from other countries and would have been reported: ${other
                      .map((c) => `${countryLabel(c.country, c.country_name)} ${c.ok}`)
                      .join(', ')}.`
                : 'In the last 7 days, every successful login came from these countries or from a local address: none would have been reported.'}
        </p>
    );
}

const toForm = (s) => ({
    usual_countries: s.usual_countries || [],
    notify: Boolean(s.notify),
    force_password_change: Boolean(s.force_password_change),
    ip_exceptions: (s.ip_exceptions || []).join(', '),
});

const fromForm = (v) => ({
    usual_countries: v.usual_countries || [],
    notify: Boolean(v.notify),
    force_password_change: Boolean(v.force_password_change),
    ip_exceptions: splitList(v.ip_exceptions),
});

export default function ConfigTab({ api, domain, countries }) {
    const [values, setValues] = useState(null);
    const [editable, setEditable] = useState(false);
    const [notifyTo, setNotifyTo] = useState(null);
    const [savedNotify, setSavedNotify] = useState(false);
    const [logins, setLogins] = useState(null);
    const [errors, setErrors] = useState({});
    const [error, setError] = useState(null);
    const [saved, setSaved] = useState(false);
    const [state, setState] = useState(undefined);
    const [attempt, setAttempt] = useState(0);
    const path = `/domains/${encodeURIComponent(domain)}/settings`;

    useEffect(() => {
        let live = true;
        setValues(null);
        setError(null);
        setErrors({});
        setSaved(false);
        api.get(path).then(
            (s) => {
                if (!live) return;
                setValues(toForm(s));
                setEditable(Boolean(s.editable));
                setNotifyTo(s.notify_to ?? null);
                setSavedNotify(Boolean(s.notify));
            },
            (e) => live && setError(e),
        );
        return () => {
            live = false;
        };
    }, [api, path, attempt]);

    // The preview is a help, not the form: without the statistics there is none.
    useEffect(() => {
        let live = true;
        setLogins(null);
        api.get('/stats', { domain }).then(
            (st) => live && setLogins(st.logins_by_country || []),
            () => {},
        );
        return () => {
            live = false;
        };
    }, [api, domain]);

    if (error && !values)
        return (
            <Alert intent="danger" data-testid="config-error" role="alert">
                <p className="ml-alert-title">The configuration could not be loaded.</p>
                <p>{error.message}</p>
                <Button data-testid="retry" onClick={() => setAttempt((n) => n + 1)}>
                    Retry
                </Button>
            </Alert>
        );
    if (!values) return <Skeleton height={200} />;

    const submit = async (v) => {
        setState('submit');
        setErrors({});
        setError(null);
        setSaved(false);
        try {
            const s = await api.put(path, fromForm(v));
            setValues(toForm(s));
            setNotifyTo(s.notify_to ?? null);
            setSavedNotify(Boolean(s.notify));
            setSaved(true);
        } catch (e) {
            // shown under the field it names (one the form has), else above the form
            if (e.field && Object.hasOwn(v, e.field)) setErrors({ [e.field]: { api: fieldMessage(e.message, e.field) } });
            else setError(e);
        } finally {
            setState(undefined);
        }
    };

    const ro = !editable;
    const noCountries = !(values.usual_countries || []).length;
    return (
        <div className="ml-config" data-testid="config">
            {ro ? (
                <Alert intent="info" data-testid="readonly-notice">
                    These settings are managed by your administrator. You can see them but not change them.
                </Alert>
            ) : null}
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
                    // Read-only: nothing changes on screen that could not be saved.
                    if (ro) return;
                    setSaved(false);
                    setValues((old) => {
                        const next = { ...old, [name]: value };
                        if (!next.notify) next.force_password_change = false;
                        return next;
                    });
                }}
                onSubmit={ro ? undefined : submit}
                submitButton={ro ? false : { children: 'Save', 'data-testid': 'save' }}
                applyButton={false}
                cancelButton={false}
                vertical
            >
                <FormFieldSelect
                    name="usual_countries"
                    label="Usual countries of POP/IMAP/SMTP access for this domain"
                    description="Successful logins from other countries are reported as suspicious (logins from local addresses and of unknown country are not)."
                    multiple
                    searchable
                    clearable={!ro}
                    disabled={ro}
                    placeholder={ro ? 'None' : 'Select countries…'}
                >
                    {countries.map((c) => (
                        <SelectOption key={c.code} value={c.code}>
                            {`${c.code} ${c.name}`}
                        </SelectOption>
                    ))}
                </FormFieldSelect>
                <UsualPreview logins={logins} usual={values.usual_countries || []} />
                <FormFieldCheckbox
                    name="notify"
                    label={
                        notifyTo
                            ? `Email a report of logins from unusual countries to ${notifyTo}`
                            : "Email a report of logins from unusual countries to the domain owner's address"
                    }
                    description={
                        noCountries
                            ? 'Choose at least one usual country first: with none, no login is unusual.'
                            : notifyTo
                              ? 'Sent every hour for the previous hour (e.g. at 10:09 for 9:00–10:00), from the hour notifications are turned on; also for an IP address of an unusual country that fails to log in 5 times or more in the hour. The address is the owner’s email in the control panel.'
                              : 'Sent every hour for the previous hour, from the hour notifications are turned on.'
                    }
                    disabled={ro || (noCountries && !values.notify)}
                />
                {notifyTo ? null : (
                    <Alert intent="warning" data-testid="no-recipient">
                        This domain has no owner email address that mail can be sent to: reports cannot be sent until one is set for the
                        domain’s owner in the control panel.
                    </Alert>
                )}
                <FormFieldCheckbox
                    name="force_password_change"
                    label="Force a password change after a suspicious login"
                    description={
                        values.notify
                            ? 'Each mailbox in a report gets a new password, sent in the report (to the owner, not to the mailbox); mail apps using the old one stop working until they are given the new one.'
                            : 'Turn on notifications first: the new password is only ever sent in the notification mail.'
                    }
                    disabled={ro || !values.notify}
                />
                <FormFieldText
                    name="ip_exceptions"
                    label="IP exceptions"
                    description="IP addresses or CIDR ranges (IPv4 or IPv6), separated by commas, never reported for this domain."
                    size="fill"
                    disabled={ro}
                />
            </Form>
            <AlertHistory api={api} domain={domain} notify={savedNotify} />
        </div>
    );
}
