// App.jsx — the Mail log page: asks GET /v1/me who is looking, then shows the
// subscription view (overview + list tabs + configuration) or the admin page.
//
// Mounting (see main.jsx): `view` is "subscription" or "admin" (Plesk decides
// which page it renders); in standalone mode an admin gets a small navigation
// between both, driven by the URL hash (#/ and #/settings).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Button, Heading, Spinner, Tab, Tabs } from '@plesk/ui-library';
import { createApi } from './api.js';
import { CONFIG_TAB, TABS } from './tabs.js';
import ListTab, { NO_SHARED_FILTERS } from './ListTab.jsx';
import ConfigTab from './ConfigTab.jsx';
import Overview from './Overview.jsx';
import AdminPage from './AdminPage.jsx';

function hashView(initial) {
    return window.location.hash.startsWith('#/settings') ? 'admin' : initial;
}

function useHashView(initial) {
    const [view, setView] = useState(() => hashView(initial));
    useEffect(() => {
        const on = () => setView(hashView(initial));
        window.addEventListener('hashchange', on);
        return () => window.removeEventListener('hashchange', on);
    }, [initial]);
    return view;
}

function DomainPicker({ me, domain, onChange }) {
    if (!me.admin && me.domains.length === 1) {
        return (
            <p className="ml-domain" data-testid="domain">
                Domain: <strong>{me.domains[0]}</strong>
            </p>
        );
    }
    return (
        <div className="ml-domain">
            <label id="ml-domain-label" htmlFor="ml-domain-select">
                Domain
            </label>{' '}
            <select
                id="ml-domain-select"
                className="ml-native-select"
                value={domain}
                data-testid="domain-select"
                onChange={(e) => onChange(e.target.value)}
            >
                {me.admin ? <option value="">All domains</option> : null}
                {me.domains.map((d) => (
                    <option key={d} value={d}>
                        {d}
                    </option>
                ))}
            </select>
        </div>
    );
}

// The library's overflow tab ("…", on narrow screens) is an icon with no
// name and no prop for one: named here, whenever the tab list changes.
function useNamedMoreTab(ref) {
    useEffect(() => {
        const root = ref.current;
        if (!root) return undefined;
        const name = () => {
            for (const a of root.querySelectorAll('.pul-tabs__tab--more [role="tab"]:not([aria-label])')) {
                a.setAttribute('aria-label', 'More tabs');
                a.setAttribute('title', 'More tabs');
            }
        };
        name();
        const mo = new MutationObserver(name);
        mo.observe(root, { childList: true, subtree: true });
        return () => mo.disconnect();
    }, [ref]);
}

function SubscriptionView({ api, me, preselected }) {
    const initial = preselected && (me.admin || me.domains.includes(preselected)) ? preselected : me.admin ? '' : me.domains[0] || '';
    const [domain, setDomain] = useState(initial);
    const [active, setActive] = useState(1);
    const [countries, setCountries] = useState([]);
    const [shared, setShared] = useState(NO_SHARED_FILTERS);
    const onShared = useCallback((patch) => setShared((s) => ({ ...s, ...patch })), []);
    const tabs = TABS.filter((t) => me.tabs.includes(t.id));
    const hasConfig = me.tabs.includes('config');
    const tabsBox = useRef(null);
    useNamedMoreTab(tabsBox);

    useEffect(() => {
        if (!hasConfig) return;
        api.get('/countries').then(
            (c) => setCountries(c.countries || []),
            () => setCountries([]),
        );
    }, [api, hasConfig]);

    if (!me.admin && me.domains.length === 0) {
        return (
            <Alert intent="info" data-testid="no-domains">
                No mail domains are visible to your account.
            </Alert>
        );
    }
    const all = tabs.map((t) => ({ ...t, config: false })).concat(hasConfig ? [{ ...CONFIG_TAB, config: true }] : []);
    return (
        <div className="ml-subscription">
            <DomainPicker
                me={me}
                domain={domain}
                onChange={(d) => {
                    setDomain(d);
                }}
            />
            <Overview api={api} domain={domain} admin={Boolean(me.admin)} retentionDays={me.retention_days} />
            <div ref={tabsBox}>
                <Tabs active={active} key={domain}>
                    {all.map((t, i) => (
                        <Tab key={t.id} title={t.title} data-tab-id={t.id} onActivate={() => setActive(i + 1)}>
                            {t.config ? (
                                domain ? (
                                    <ConfigTab api={api} domain={domain} countries={countries} />
                                ) : (
                                    <Alert intent="info">Choose a domain to see its configuration.</Alert>
                                )
                            ) : (
                                <ListTab
                                    api={api}
                                    tab={t}
                                    domain={domain}
                                    retentionDays={me.retention_days}
                                    shared={shared}
                                    onShared={onShared}
                                />
                            )}
                        </Tab>
                    ))}
                </Tabs>
            </div>
        </div>
    );
}

export default function App({ apiBase, mode, view: mountView, domain }) {
    const api = useMemo(() => createApi(apiBase), [apiBase]);
    const [me, setMe] = useState(null);
    const [error, setError] = useState(null);
    const [attempt, setAttempt] = useState(0);
    const [retrying, setRetrying] = useState(false);
    const hashView = useHashView(mountView);
    const view = mode === 'standalone' ? hashView : mountView;

    useEffect(() => {
        let live = true;
        api.get('/me').then(
            (m) => {
                if (!live) return;
                api.setCsrf(m.csrf_token);
                setError(null);
                setMe({ ...m, domains: m.domains || [], tabs: m.tabs || [] });
            },
            (e) => live && setError(e),
        ).finally(() => live && setRetrying(false));
        return () => {
            live = false;
        };
    }, [api, attempt]);

    if (error || !me) {
        // Nothing is known about the user yet: the page keeps its frame (the
        // heading in standalone mode; Plesk shows its own page title).
        let body;
        if (!error) {
            body = (
                <div className="ml-loading" role="status">
                    <Spinner size="md" /> Loading…
                </div>
            );
        } else if (error.status === 403) {
            body = (
                <Alert intent="warning" data-testid="forbidden">
                    {/* The API's reason says it already (e.g. "not available to clients on this server"). */}
                    {error.message ? `${error.message.replace(/[.]$/, '')}.` : 'Mail log is not available for your account.'}
                </Alert>
            );
        } else {
            body = (
                <Alert intent="danger" data-testid="fatal" role="alert">
                    <p className="ml-alert-title">Mail log could not be started.</p>
                    <p>
                        {error.status ? `The server answered: ${error.message}.` : error.message}
                    </p>
                    <Button
                        intent="primary"
                        data-testid="fatal-retry"
                        state={retrying ? 'loading' : undefined}
                        onClick={() => {
                            setRetrying(true);
                            setAttempt((n) => n + 1);
                        }}
                    >
                        Retry
                    </Button>
                </Alert>
            );
        }
        return (
            <div className="ml-app">
                {mode === 'standalone' ? (
                    <header className="ml-header">
                        <Heading level={1}>Mail log</Heading>
                    </header>
                ) : null}
                <main>{body}</main>
            </div>
        );
    }

    const standaloneHeader =
        mode === 'standalone' ? (
            <header className="ml-header">
                <Heading level={1}>Mail log</Heading>
                <span className="ml-muted" data-testid="whoami">
                    {me.user} ({me.role})
                </span>
                {me.admin ? (
                    <nav className="ml-nav" aria-label="Pages">
                        <a href="#/" aria-current={view !== 'admin' ? 'page' : undefined} data-testid="nav-logs">
                            Mail log
                        </a>
                        <a href="#/settings" aria-current={view === 'admin' ? 'page' : undefined} data-testid="nav-settings">
                            Settings
                        </a>
                    </nav>
                ) : null}
            </header>
        ) : null;

    let body;
    if (view === 'admin') {
        body = me.admin ? (
            <AdminPage api={api} me={me} />
        ) : (
            <Alert intent="warning" data-testid="forbidden">
                Only the server administrator can change these settings.
            </Alert>
        );
    } else if (me.tabs.length === 0) {
        body = (
            <Alert intent="warning" data-testid="forbidden">
                Mail log is not available for your account.
            </Alert>
        );
    } else {
        body = <SubscriptionView api={api} me={me} preselected={domain} />;
    }
    return (
        <div className="ml-app" data-role={me.role}>
            {standaloneHeader}
            <main>{body}</main>
        </div>
    );
}
