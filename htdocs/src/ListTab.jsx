// ListTab.jsx — one list tab (access, received, sent, not-received, not-sent):
// toolbar (search on Enter, date range, status filter, CSV download), a
// server-sorted List, keyset "Load more" paging, and the message trace drawer.
//
// Contract: every filter is sent to GET /v1/{tab}; the CSV link is the same
// request with format=csv and no cursor/limit. Changing a filter or the sort
// starts again from the first page. Data is rendered as React text only.
// The rows are shown in the server's order: the List never sorts them itself
// (each column's `sort` keeps the given order), since a page is only a slice
// of the server-sorted result and the API sorts some columns by meaning
// (status by severity, result failed first) rather than by the cell's text.
import { useCallback, useEffect, useRef, useState } from 'react';
import {
    Alert,
    Button,
    Input,
    List,
    ListEmptyView,
    Spinner,
    Status,
    Text,
    Toolbar,
    ToolbarGroup,
} from '@plesk/ui-library';
import { COLUMN } from './tabs.js';
import { countryLabel, dayEnd, dayStart, humanSize, localTime, STATUS_HELP, STATUS_INTENT, statusLabel } from './format.js';
import TraceDrawer from './TraceDrawer.jsx';

const PAGE = 50;
// The API's limit on `q` is in bytes of UTF-8 (docs/API.md), not characters.
const SEARCH_MAX_BYTES = 200;
const utf8 = new TextEncoder();

// s cut to at most max bytes of UTF-8, on a character boundary; and whether it was cut.
export function clampUtf8(s, max) {
    if (utf8.encode(s).length <= max) return [s, false];
    let out = '';
    let n = 0;
    for (const ch of s) {
        const b = utf8.encode(ch).length;
        if (n + b > max) break;
        out += ch;
        n += b;
    }
    return [out, true];
}

// Keeps the order the rows came in (Array.prototype.sort is stable): the
// List's client-side sort becomes a no-op, the server's order is shown as is.
const keepServerOrder = () => 0;

// A long address (a VERP sender, a generated mailbox) is cut with an ellipsis
// so that it does not push the other columns off the screen; the whole value
// is in the tooltip (and in the message trace).
function Address({ value }) {
    return (
        <span className="ml-address" title={value}>
            {value}
        </span>
    );
}

// The status word; its tooltip says what it means, why (the API's reading of
// the server's answer), then the server's text.
function StatusCell({ status, text, reason }) {
    if (!status) return null;
    const tip = [STATUS_HELP[status], reason, text].filter(Boolean).join(' ');
    return (
        <Status intent={STATUS_INTENT[status] || 'info'} compact>
            <span title={tip || undefined}>{statusLabel(status)}</span>
        </Status>
    );
}

function cell(key, row) {
    switch (key) {
        case 'date':
            return <time dateTime={new Date(row.date * 1000).toISOString()}>{localTime(row.date)}</time>;
        case 'size':
            return <span className="ml-nowrap" title={`${row.size} bytes`}>{humanSize(row.size)}</span>;
        case 'country':
            return (
                <span className="ml-country" title={countryLabel(row.country, row.country_name)}>
                    {countryLabel(row.country, row.country_name)}
                </span>
            );
        case 'status':
            return <StatusCell status={row.status} text={row.status_text} reason={row.reason} />;
        case 'status_text':
            // Why, in plain words when the server's answer says (the API's
            // reading of it), then the answer itself, muted: the reading is a
            // guess from another server's words, so both are shown. Cut to the
            // column: the whole text is in the tooltip.
            return (
                <span
                    className="ml-status-text"
                    title={[row.reason, row.status_text].filter(Boolean).join('\n') || undefined}
                    data-testid="status-text"
                >
                    <StatusCell status={row.status} text={null} />{' '}
                    {row.reason ? (
                        <span className="ml-reason" data-testid="reason">
                            {row.reason}{' '}
                        </span>
                    ) : null}
                    <Text intent="muted">{row.status_text}</Text>
                </span>
            );
        case 'result':
            return (
                <span>
                    <StatusCell status={row.result} text={row.detail} />
                    {row.method ? <span className="ml-muted ml-small"> {row.method}</span> : null}
                </span>
            );
        case 'msgid':
            return (
                // The row's click handler (capture phase) opens the trace; the
                // button makes that reachable with the keyboard (Enter/Space).
                <button type="button" className="ml-linkbutton" title="Open the message trace" data-testid="open-trace">
                    {row.msgid || (row.status === 'rejected' ? '(rejected before queueing)' : '(no Message-ID)')}
                </button>
            );
        case 'sender':
            // The null sender of bounces and notifications.
            return row.sender ? <Address value={row.sender} /> : <span className="ml-muted" title="null sender (a bounce or notification)">&lt;&gt;</span>;
        case 'mailbox':
            // SMTP AUTH failures of older Postfix versions name no user.
            if (!row.mailbox) return <span className="ml-muted">unknown user</span>;
            // An alias or a forward: the address the mail was sent to, too.
            // Both addresses are in the tooltip: a long one can push the note out of the cell.
            if (row.orig_to && row.orig_to.toLowerCase() !== row.mailbox.toLowerCase())
                return (
                    <span data-testid="forwarded" className="ml-address" title={`${row.mailbox} — sent to ${row.orig_to}`}>
                        {row.mailbox} <span className="ml-muted">(sent to {row.orig_to})</span>
                    </span>
                );
            // Sent by an SMTP AUTH login other than the sender it claimed:
            // the login is whose mail it is (a stolen password shows here).
            if (row.login && row.login.toLowerCase() !== row.mailbox.toLowerCase())
                return (
                    <span data-testid="login" className="ml-address" title={`${row.mailbox} — sent by the login ${row.login}`}>
                        {row.mailbox} <span className="ml-muted">(login {row.login})</span>
                    </span>
                );
            return <Address value={row.mailbox} />;
        case 'recipient':
            return <Address value={row.recipient || ''} />;
        default:
            return row[key];
    }
}

// The filters every tab shares: an address searched for, or a period, stays
// when the user moves to another tab ("did john@ send it? did it arrive?").
// The status filter is the tab's own: the tabs have different statuses.
export const NO_SHARED_FILTERS = { q: '', fromDay: '', toDay: '' };
const SHARED_KEYS = Object.keys(NO_SHARED_FILTERS);

export default function ListTab({ api, tab, domain, retentionDays, shared = NO_SHARED_FILTERS, onShared = () => {} }) {
    const [search, setSearch] = useState(shared.q);
    const [searchCut, setSearchCut] = useState(false);
    const [filters, setFilters] = useState({ ...shared, status: '' });
    const [sort, setSort] = useState({ column: 'date', direction: 'DESC' });
    const [page, setPage] = useState({ rows: [], next: null, total: null });
    const [loading, setLoading] = useState(true);
    // { error, cursor }: what failed, and the page to ask for again (Retry)
    const [failure, setFailure] = useState(null);
    const [trace, setTrace] = useState(null);
    const seq = useRef(0);

    // Date inputs give "YYYY-MM-DD", which compares as text.
    const badRange = Boolean(filters.fromDay && filters.toDay && filters.fromDay > filters.toDay);

    const params = useCallback(
        () => ({
            domain: domain || undefined,
            q: filters.q,
            from: dayStart(filters.fromDay),
            to: dayEnd(filters.toDay),
            status: filters.status,
            sort: COLUMN[sort.column] ? COLUMN[sort.column].sort : 'date',
            order: sort.direction === 'ASC' ? 'asc' : 'desc',
        }),
        [domain, filters, sort],
    );

    const load = useCallback(
        async (cursor) => {
            const mine = ++seq.current;
            setFailure(null);
            if (badRange) {
                // Nothing can match: said at the filter, no request.
                setPage({ rows: [], next: null, total: null });
                setLoading(false);
                return;
            }
            setLoading(true);
            try {
                const res = await api.get(`/${tab.id}`, { ...params(), limit: PAGE, cursor });
                if (mine !== seq.current) return;
                setPage((prev) => ({
                    rows: cursor ? prev.rows.concat(res.rows) : res.rows,
                    next: res.next_cursor || null,
                    // null: not counted (the admin's all-domains listing);
                    // capped: at least that many (the store stops counting)
                    total: typeof res.total === 'number' ? res.total : null,
                    capped: !!res.total_capped,
                }));
            } catch (e) {
                if (mine !== seq.current) return;
                // A failed first page leaves nothing to count: no "0 of 0".
                if (!cursor) setPage({ rows: [], next: null, total: null });
                setFailure({ error: e, cursor: cursor || null });
            } finally {
                if (mine === seq.current) setLoading(false);
            }
        },
        [api, tab.id, params, badRange],
    );

    useEffect(() => {
        load(null);
    }, [load]);

    // Another tab changed the shared filters (when the tabs stay mounted).
    // The box follows only a search that changed: text typed and not yet
    // searched for stays when the period changes.
    const sharedQ = useRef(shared.q);
    useEffect(() => {
        setFilters((f) => (SHARED_KEYS.every((k) => f[k] === shared[k]) ? f : { ...f, ...shared }));
        if (shared.q !== sharedQ.current) {
            sharedQ.current = shared.q;
            setSearch(shared.q);
        }
    }, [shared]);

    const apply = (patch) => {
        setFilters((f) => ({ ...f, ...patch }));
        const common = Object.fromEntries(Object.entries(patch).filter(([k]) => SHARED_KEYS.includes(k)));
        if (Object.keys(common).length) onShared(common);
    };
    const onSearchChange = (value) => {
        const [v, cut] = clampUtf8(value, SEARCH_MAX_BYTES);
        setSearch(v);
        setSearchCut(cut);
        // Emptying the box (or its × button) shows everything again at once.
        if (v.trim() === '' && filters.q !== '') apply({ q: '' });
    };
    const openTrace = (row) => {
        if (row.message_id !== undefined && row.message_id !== null) setTrace(row.message_id);
    };
    const isMail = tab.id !== 'access';
    const csvUrl = api.url(`/${tab.id}`, { ...params(), format: 'csv' });
    const filtered = Boolean(filters.q || filters.fromDay || filters.toDay || filters.status);
    const error = failure ? failure.error : null;
    const retry = () => load(failure ? failure.cursor : null);
    // The first page failed: the error takes the list's place (shown once).
    const failedEmpty = Boolean(error) && page.rows.length === 0;

    const columns = tab.columns.map((key, i) => ({
        key,
        title: COLUMN[key].title,
        sortable: Boolean(COLUMN[key].sort),
        sort: keepServerOrder,
        type: i === 0 ? 'title' : undefined,
        // The status reason wraps (up to four lines, see app.css): cut to one
        // line it showed the address and lost the reason after it.
        truncate: key === 'msgid' || key === 'sender' || key === 'mailbox' || key === 'recipient',
        cellProps: { className: `ml-col-${key}` },
        render: (row) => cell(key, row),
    }));

    const retryButton = (
        <Button onClick={retry} state={loading ? 'loading' : undefined} data-testid="retry">
            Retry
        </Button>
    );

    const toolbar = (
        <Toolbar>
            <ToolbarGroup title="Search">
                <Input
                    type="search"
                    size="lg"
                    aria-label="Search"
                    placeholder="Search…"
                    value={search}
                    maxLength={SEARCH_MAX_BYTES}
                    data-testid="search"
                    onChange={(e) => onSearchChange(e.target.value)}
                    onKeyDown={(e) => {
                        if (e.key === 'Enter') {
                            e.preventDefault();
                            apply({ q: search.trim() });
                        }
                    }}
                />
                <Button onClick={() => apply({ q: search.trim() })} data-testid="search-button">
                    Search
                </Button>
            </ToolbarGroup>
            <ToolbarGroup title="Period">
                <label className="ml-inline-label">
                    From{' '}
                    <Input
                        type="date"
                        aria-label="From date"
                        aria-invalid={badRange || undefined}
                        aria-describedby={badRange ? `ml-period-error-${tab.id}` : undefined}
                        className={badRange ? 'ml-input-invalid' : undefined}
                        value={filters.fromDay}
                        max={filters.toDay || undefined}
                        data-testid="from"
                        onChange={(e) => apply({ fromDay: e.target.value })}
                    />
                </label>
                <label className="ml-inline-label">
                    To{' '}
                    <Input
                        type="date"
                        aria-label="To date"
                        aria-invalid={badRange || undefined}
                        aria-describedby={badRange ? `ml-period-error-${tab.id}` : undefined}
                        className={badRange ? 'ml-input-invalid' : undefined}
                        value={filters.toDay}
                        min={filters.fromDay || undefined}
                        data-testid="to"
                        onChange={(e) => apply({ toDay: e.target.value })}
                    />
                </label>
            </ToolbarGroup>
            <ToolbarGroup title="Status">
                <label className="ml-inline-label">
                    Status{' '}
                    <select
                        className="ml-native-select"
                        aria-label="Status filter"
                        data-testid="status"
                        value={filters.status}
                        onChange={(e) => apply({ status: e.target.value })}
                    >
                        <option value="">any</option>
                        {tab.statuses.map((s) => (
                            <option key={s} value={s}>
                                {statusLabel(s)}
                            </option>
                        ))}
                    </select>
                </label>
            </ToolbarGroup>
            <ToolbarGroup title="Export">
                {/* Icon-only on narrow screens: named for screen readers and in a tooltip. */}
                <Button
                    component="a"
                    href={csvUrl}
                    download={`${tab.id}.csv`}
                    icon="arrow-down-tray"
                    aria-label="Download CSV"
                    title="Download CSV"
                    data-testid="csv"
                >
                    Download CSV
                </Button>
            </ToolbarGroup>
        </Toolbar>
    );

    const notices =
        searchCut || badRange ? (
            <div className="ml-filter-notices">
                {searchCut ? (
                    <Text intent="warning" data-testid="search-limit" role="status">
                        The search text is limited to {SEARCH_MAX_BYTES} bytes (accented letters and other non-ASCII
                        characters take 2–4 bytes each); the rest was cut off.
                    </Text>
                ) : null}
                {badRange ? (
                    <Text intent="danger" id={`ml-period-error-${tab.id}`} data-testid="period-error" role="alert">
                        The “From” date is after the “To” date: no record can match. Change one of them.
                    </Text>
                ) : null}
            </div>
        ) : null;

    let emptyView;
    if (loading) {
        emptyView = (
            <div className="ml-loading" data-testid="list-loading" role="status">
                <Spinner size="md" /> Loading…
            </div>
        );
    } else if (failedEmpty) {
        emptyView = (
            <div data-testid="list-error" role="alert">
                <ListEmptyView image={null} title="The records could not be loaded" description={error.message} actions={retryButton} />
            </div>
        );
    } else if (badRange) {
        emptyView = (
            <ListEmptyView
                image={null}
                title="The period is empty"
                description="The “From” date is after the “To” date. Change one of them to see records."
            />
        );
    } else {
        emptyView = (
            <ListEmptyView
                image={null}
                title={filtered ? 'Nothing matches these filters' : retentionDays ? `No records in the last ${retentionDays} days` : 'No records yet'}
                description={
                    filtered
                        ? 'Change the search or the filters to see more.'
                        : 'Records are kept for the days the administrator set; new ones appear after each log analysis run.'
                }
            />
        );
    }

    return (
        <div className="ml-listtab" data-tab={tab.id} data-loading={loading ? 'true' : 'false'}>
            <List
                columns={columns}
                data={page.rows}
                rowKey="id"
                toolbar={
                    <>
                        {toolbar}
                        {notices}
                    </>
                }
                loading={loading}
                // "1000+" when the store stopped counting, as in the count below.
                totalRows={failedEmpty || badRange || page.total === null ? undefined : page.capped ? `${page.total}+` : page.total}
                filtered={filtered}
                sortColumn={sort.column}
                sortDirection={sort.direction}
                onSortChange={({ sortColumn, sortDirection }) => setSort({ column: sortColumn, direction: sortDirection })}
                rowProps={(row) => ({
                    'data-row-id': row.id,
                    className: isMail ? 'ml-row-clickable' : undefined,
                    // List overrides a row's onClick, not its capture-phase handler.
                    onClickCapture: isMail ? () => openTrace(row) : undefined,
                })}
                emptyView={emptyView}
                emptyViewMode="items"
            />
            {error && !failedEmpty ? (
                // "Load more" failed: the rows already shown stay.
                <Alert intent="danger" data-testid="list-error">
                    <span className="ml-alert-row">
                        {error.message} {retryButton}
                    </span>
                </Alert>
            ) : null}
            {failedEmpty || badRange ? null : (
                <div className="ml-pager">
                    <span data-testid="count">
                        {page.total === null
                            ? `${page.rows.length} shown`
                            : `${page.rows.length} of ${page.total}${page.capped ? '+' : ''} shown`}
                    </span>
                    {page.next ? (
                        <Button onClick={() => load(page.next)} state={loading ? 'loading' : undefined} data-testid="more">
                            Load more
                        </Button>
                    ) : null}
                </div>
            )}
            {trace !== null ? <TraceDrawer api={api} id={trace} onClose={() => setTrace(null)} /> : null}
        </div>
    );
}
