// tabs.js — the five list tabs of the subscription page: their API route,
// title, columns (as the manual names them) and status filter values.
// Column keys are the API's sort columns (docs/API.md); `sortable: false`
// marks columns the API does not sort by.

const MAIL_STATUSES = ['sent', 'deferred', 'bounced', 'expired', 'rejected', 'discarded'];
const FAILED_STATUSES = ['deferred', 'bounced', 'expired', 'rejected', 'discarded'];

export const TABS = [
    {
        id: 'access',
        title: 'Mailbox access logs',
        statuses: ['ok', 'failed'],
        columns: ['mailbox', 'ip', 'country', 'protocol', 'date', 'result'],
    },
    {
        id: 'received',
        title: 'Emails received',
        statuses: MAIL_STATUSES,
        columns: ['sender', 'mailbox', 'date', 'size', 'status', 'msgid'],
    },
    {
        id: 'sent',
        title: 'Emails sent',
        statuses: MAIL_STATUSES,
        columns: ['mailbox', 'recipient', 'date', 'size', 'status', 'msgid'],
    },
    {
        id: 'not-received',
        title: 'Emails not received',
        statuses: FAILED_STATUSES,
        columns: ['sender', 'mailbox', 'date', 'status_text', 'msgid'],
    },
    {
        id: 'not-sent',
        title: 'Emails not sent',
        statuses: FAILED_STATUSES,
        columns: ['mailbox', 'recipient', 'date', 'size', 'status_text', 'msgid'],
    },
];

export const CONFIG_TAB = { id: 'config', title: 'Configuration' };

// Column key → header title; `sort` is the API sort key (null: not sortable).
export const COLUMN = {
    mailbox: { title: 'Mailbox', sort: 'mailbox' },
    ip: { title: 'IP', sort: 'ip' },
    country: { title: 'Country', sort: 'country' },
    protocol: { title: 'Protocol', sort: 'protocol' },
    date: { title: 'Date', sort: 'date' },
    result: { title: 'Result', sort: 'result' },
    sender: { title: 'Sender', sort: 'sender' },
    recipient: { title: 'Recipient', sort: 'recipient' },
    size: { title: 'Size', sort: 'size' },
    status: { title: 'Status', sort: 'status' },
    status_text: { title: 'Status error', sort: 'status' },
    msgid: { title: 'Message ID', sort: 'msgid' },
};
