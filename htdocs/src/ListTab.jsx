// ListTab.jsx — one list tab (access, received, sent, not-received, not-sent):
// toolbar (search on Enter, date range, status filter, CSV download), a
// server-sorted List, keyset "Load more" paging, and the message trace drawer.
//
// Contract: every filter is sent to GET /v1/{tab}; the CSV link is the same
// request with format=csv and no cursor/limit. Changing a filter or the sort
// starts again from the first page. Data is rendered as React text only.
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
import { countryLabel, dayEnd, dayStart, humanSize, localTime, STATUS_INTENT } from './format.js';
import TraceDrawer from './TraceDrawer.jsx';

const PAGE = 50;

function StatusCell({ status, text }) {
    if (!status) return null;
    return (
        <Status intent={STATUS_INTENT[status] || 'info'} compact>
            <span title={text || undefined}>{status}</span>
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
            return <span className="ml-country">{countryLabel(row.country, row.country_name)}</span>;
        case 'status':
            return <StatusCell status={row.status} text={row.status_text} />;
        case 'status_text':
            return (
                <span>
                    <StatusCell status={row.status} text={null} /> <Text intent="muted">{row.status_text}</Text>
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
                    {row.msgid || `#${row.message_id}`}
                </button>
            );
        case 'sender':
            // The null sender of bounces and notifications.
            return row.sender ? row.sender : <span className="ml-muted" title="null sender (a bounce or notification)">&lt;&gt;</span>;
        case 'mailbox':
            // SMTP AUTH failures of older Postfix versions name no user.
            return row.mailbox ? row.mailbox : <span className="ml-muted">unknown user</span>;
        default:
            return row[key];
    }
}

export default function ListTab({ api, tab, domain }) {
    const [search, setSearch] = useState('');
    const [filters, setFilters] = useState({ q: '', fromDay: '', toDay: '', status: '' });
    const [sort, setSort] = useState({ column: 'date', direction: 'DESC' });
    const [page, setPage] = useState({ rows: [], next: null, total: 0 });
    const [loading, setLoading] = useState(true);
    const [error, setError] = useState(null);
    const [trace, setTrace] = useState(null);
    const seq = useRef(0);

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
            setLoading(true);
            setError(null);
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
                if (!cursor) setPage({ rows: [], next: null, total: 0 });
                setError(e);
            } finally {
                if (mine === seq.current) setLoading(false);
            }
        },
        [api, tab.id, params],
    );

    useEffect(() => {
        load(null);
    }, [load]);

    const apply = (patch) => setFilters((f) => ({ ...f, ...patch }));
    const openTrace = (row) => {
        if (row.message_id !== undefined && row.message_id !== null) setTrace(row.message_id);
    };
    const isMail = tab.id !== 'access';
    const csvUrl = api.url(`/${tab.id}`, { ...params(), format: 'csv' });
    const filtered = Boolean(filters.q || filters.fromDay || filters.toDay || filters.status);

    const columns = tab.columns.map((key, i) => ({
        key,
        title: COLUMN[key].title,
        sortable: Boolean(COLUMN[key].sort),
        type: i === 0 ? 'title' : undefined,
        truncate: key === 'msgid' || key === 'status_text',
        render: (row) => cell(key, row),
    }));

    const toolbar = (
        <Toolbar>
            <ToolbarGroup title="Search">
                <Input
                    type="search"
                    size="lg"
                    aria-label="Search"
                    placeholder="Search…"
                    value={search}
                    maxLength={200}
                    data-testid="search"
                    onChange={(e) => setSearch(e.target.value)}
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
                        value={filters.fromDay}
                        data-testid="from"
                        onChange={(e) => apply({ fromDay: e.target.value })}
                    />
                </label>
                <label className="ml-inline-label">
                    To{' '}
                    <Input
                        type="date"
                        aria-label="To date"
                        value={filters.toDay}
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
                                {s}
                            </option>
                        ))}
                    </select>
                </label>
            </ToolbarGroup>
            <ToolbarGroup title="Export">
                <Button component="a" href={csvUrl} download={`${tab.id}.csv`} icon="arrow-down-tray" data-testid="csv">
                    Download CSV
                </Button>
            </ToolbarGroup>
        </Toolbar>
    );

    return (
        <div className="ml-listtab" data-tab={tab.id} data-loading={loading ? "true" : "false"}>
            {error ? (
                <Alert intent="danger" data-testid="list-error">
                    {error.message}
                </Alert>
            ) : null}
            <List
                columns={columns}
                data={page.rows}
                rowKey="id"
                toolbar={toolbar}
                loading={loading}
                totalRows={page.total ?? undefined}
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
                emptyView={
                    loading ? (
                        <div className="ml-loading" data-testid="list-loading" role="status">
                            <Spinner size="md" /> Loading…
                        </div>
                    ) : error ? (
                        <ListEmptyView title="The records could not be loaded" description={error.message} />
                    ) : (
                    <ListEmptyView
                        title={filtered ? 'Nothing matches these filters' : 'No records yet'}
                        description={
                            filtered
                                ? 'Change the search or the filters to see more.'
                                : 'Records appear here after the next log analysis run.'
                        }
                    />
                    )
                }
                emptyViewMode="items"
            />
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
            {trace !== null ? <TraceDrawer api={api} id={trace} onClose={() => setTrace(null)} /> : null}
        </div>
    );
}
