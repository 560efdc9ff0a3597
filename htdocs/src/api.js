// api.js — the client of maillog.cgi's JSON API (docs/API.md).
//
// createApi(base) returns get/put/post/url helpers bound to `${base}/v1`.
// Every non-2xx answer becomes an ApiError carrying the API's error object
// (code, message, field) and the HTTP status. State-changing requests carry
// the API's CSRF token (X-Maillog-Csrf, from /v1/me) and, inside Plesk, the
// panel's own token (X-Forgery-Protection-Token from the page's <meta>).

export class ApiError extends Error {
    constructor(status, error) {
        super((error && error.message) || `HTTP ${status}`);
        this.status = status;
        this.code = (error && error.code) || 'http_error';
        this.field = (error && error.field) || null;
    }
}

function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
        if (v === undefined || v === null || v === '') continue;
        q.set(k, String(v));
    }
    const s = q.toString();
    return s ? `?${s}` : '';
}

function plesKToken() {
    const meta = document.querySelector('meta[name="forgery_protection_token"]');
    return meta ? meta.getAttribute('content') : null;
}

async function decode(res) {
    const text = await res.text();
    let body = null;
    try {
        body = text ? JSON.parse(text) : null;
    } catch {
        body = null;
    }
    if (!res.ok) {
        throw new ApiError(res.status, body && body.error ? body.error : { message: `HTTP ${res.status} ${res.statusText}` });
    }
    if (body === null) throw new ApiError(res.status, { code: 'bad_json', message: 'The server did not answer JSON.' });
    return body;
}

export function createApi(base) {
    const root = `${base.replace(/\/+$/, '')}/v1`;
    let csrf = null;
    const send = async (method, path, body) => {
        const headers = { Accept: 'application/json' };
        if (method !== 'GET') {
            headers['Content-Type'] = 'application/json';
            if (csrf) headers['X-Maillog-Csrf'] = csrf;
            const t = plesKToken();
            if (t) headers['X-Forgery-Protection-Token'] = t;
        }
        let res;
        try {
            res = await fetch(root + path, {
                method,
                headers,
                credentials: 'same-origin',
                body: body === undefined ? undefined : JSON.stringify(body),
            });
        } catch (e) {
            throw new ApiError(0, { code: 'network', message: `The server cannot be reached (${e.message}).` });
        }
        return decode(res);
    };
    return {
        setCsrf(token) {
            csrf = token || null;
        },
        url: (path, params) => root + path + query(params),
        get: (path, params) => send('GET', path + query(params)),
        put: (path, body) => send('PUT', path, body),
        post: (path, body) => send('POST', path, body),
    };
}
