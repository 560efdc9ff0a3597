// format.js — how values from the API are shown: local times, human sizes,
// countries, statuses. Pure functions of their arguments (and the browser's
// time zone), so every screen shows the same thing the same way.

const pad = (n) => String(n).padStart(2, '0');

// Epoch seconds (UTC) → "YYYY-MM-DD HH:MM:SS" in the viewer's time zone.
export function localTime(t) {
    if (t === null || t === undefined || t === '') return '';
    const d = new Date(Number(t) * 1000);
    if (Number.isNaN(d.getTime())) return '';
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// Bytes → "512 B", "1.5 KB", "12 MB" (binary multiples, one decimal under 10).
export function humanSize(n) {
    if (n === null || n === undefined || n === '') return '';
    let v = Number(n);
    if (!Number.isFinite(v) || v < 0) return '';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    if (i === 0) return `${v} B`;
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

let regionNames = null;
function regionName(code) {
    try {
        regionNames = regionNames || new Intl.DisplayNames(['en'], { type: 'region' });
        const n = regionNames.of(code);
        return n && n !== code ? n : '';
    } catch {
        return '';
    }
}

// ISO code + English name (the API's, else the browser's). Without a code the
// API's name says "local" (a private address) or "unknown" (not in the GeoIP
// data); the statistics count both together.
export function countryLabel(code, name) {
    if (!code) return name || 'local or unknown';
    const n = name || regionName(code);
    return n ? `${code} ${n}` : code;
}

// Epoch seconds → "YYYY-MM-DD" of the UTC day (the API's day buckets are UTC days).
export function utcDay(t) {
    return new Date(Number(t) * 1000).toISOString().slice(0, 10);
}

// A date input's value ("YYYY-MM-DD", local midnight) → epoch seconds.
export function dayStart(value) {
    if (!value) return '';
    const [y, m, d] = value.split('-').map(Number);
    if (!y || !m || !d) return '';
    return Math.floor(new Date(y, m - 1, d).getTime() / 1000);
}

// The end of that local day, exclusive (next local midnight).
export function dayEnd(value) {
    if (!value) return '';
    const [y, m, d] = value.split('-').map(Number);
    if (!y || !m || !d) return '';
    return Math.floor(new Date(y, m - 1, d + 1).getTime() / 1000);
}

// A delivery status as people say it: Postfix's "sent" is a delivered mail,
// received or sent; the rest keep Postfix's words.
export function statusLabel(status) {
    return status === 'sent' ? 'delivered' : status;
}

// What each delivery status means, for people who do not speak Postfix
// (the status word's tooltip).
export const STATUS_HELP = {
    sent: 'Delivered: the receiving server or mailbox accepted the mail.',
    deferred: 'Delayed: not accepted yet; the mail server keeps trying for some days, so it may still arrive.',
    bounced: 'Returned: refused for good; the sender was sent a notice.',
    expired: 'Given up: still not delivered when the retry time ran out; returned to the sender.',
    rejected: 'Refused on arrival (an unknown address, a spam or policy check): the mail never entered the server.',
    discarded: 'Dropped on purpose by a filter on this server.',
};

export const STATUS_INTENT = {
    sent: 'success',
    ok: 'success',
    deferred: 'warning',
    bounced: 'danger',
    expired: 'danger',
    rejected: 'danger',
    discarded: 'inactive',
    failed: 'danger',
};

// "a, b ,c" or "a\nb" → ["a","b","c"]; [] for blank.
export function splitList(s) {
    return String(s || '')
        .split(/[\s,]+/)
        .map((x) => x.trim())
        .filter(Boolean);
}

export function splitTerms(s) {
    return String(s || '')
        .split(/[,\n]/)
        .map((x) => x.trim())
        .filter(Boolean);
}

// An API validation message ("retention_days: must be a whole number of days")
// as shown under its field: without the internal field name (the field's label
// says which), as a sentence ("Must be a whole number of days.").
export function fieldMessage(message, field) {
    let m = String(message || '').trim();
    if (field && m.startsWith(`${field}:`)) m = m.slice(field.length + 1).trim();
    else m = m.replace(/^[a-z_]+(\[\d+\])?:\s*/, '');
    if (!m) return 'This value is not valid.';
    m = m.charAt(0).toUpperCase() + m.slice(1);
    return /[.!?)]$/.test(m) ? m : `${m}.`;
}
