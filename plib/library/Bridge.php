<?php
/**
 * Bridge.php — the pure logic between a Plesk page and maillog.cgi, free of
 * Plesk classes so that tests/plesk runs it with plain php-cli.
 *
 * Contract (docs/API.md "Identity", DESIGN.md §6, §8):
 *  - identityEnv(): who is asking → MAILLOG_ROLE (admin|reseller|client),
 *    MAILLOG_USER (the Plesk login) and MAILLOG_DOMAINS (comma-separated ASCII
 *    domain names that identity may see; absent for admin, who sees all). A
 *    list over DOMAINS_PART_MAX bytes continues in MAILLOG_DOMAINS_2 … _8:
 *    Linux refuses to start a program with one environment string over
 *    128 KiB, and a reseller may have thousands of domains.
 *  - maxLines(): panel.ini `[ext-mail-log] MaxLines` → MAILLOG_MAX_LINES
 *    (unset/empty/invalid → 10000; 0 is kept: it disables the log tail).
 *  - apiPath(), cgiEnv(): one browser request → the CGI/1.1 variables.
 *  - checkCsrf(): state-changing requests must carry Plesk's forgery
 *    protection token header and come from the panel's own origin.
 *  - parseCgiResponse(): the CGI's output (Status + headers, blank line,
 *    body) → status, the headers worth relaying, body. Anything malformed is
 *    a 502 with the API's error shape, never a half-relayed answer.
 * Every input is bounded; nothing here prints or exits.
 */
class Modules_MailLog_Bridge
{
    const DEFAULT_MAX_LINES = 10000;
    const MAX_MAX_LINES = 1000000;
    const MAX_BODY = 1048576;        /* bytes of request body passed to the CGI */
    const MAX_PATH = 2048;
    const MAX_QUERY = 8192;
    const MAX_HEADERS = 64;          /* header lines read from the CGI */
    const DOMAINS_PART_MAX = 100000; /* bytes of domain list in one variable */
    const DOMAINS_PARTS = 8;         /* MAILLOG_DOMAINS, _2 … _8 (CGI_DOMAIN_PARTS) */
    const DOMAINS_MAX = 50000;       /* names (IDENTITY_DOMAINS_MAX) */
    const USER_MAX = 255;            /* bytes of MAILLOG_USER (IDENTITY_USER_MAX) */

    /** Headers of the CGI answer that reach the browser (lower-case => spelling). */
    private static $relayed = [
        'content-type' => 'Content-Type',
        'content-disposition' => 'Content-Disposition',
        'cache-control' => 'Cache-Control',
        'x-content-type-options' => 'X-Content-Type-Options',
        'allow' => 'Allow',
    ];

    private static $reasons = [
        200 => 'OK', 201 => 'Created', 204 => 'No Content', 400 => 'Bad Request',
        401 => 'Unauthorized', 403 => 'Forbidden', 404 => 'Not Found',
        405 => 'Method Not Allowed', 409 => 'Conflict', 413 => 'Payload Too Large',
        422 => 'Unprocessable Entity', 500 => 'Internal Server Error',
        502 => 'Bad Gateway', 503 => 'Service Unavailable',
    ];

    /**
     * @param string   $role    admin|reseller|client
     * @param string   $user    Plesk login
     * @param string[] $domains domain names the identity may access
     * @return array<string,string>
     */
    public static function identityEnv($role, $user, array $domains)
    {
        if (!in_array($role, ['admin', 'reseller', 'client'], true)) {
            throw new InvalidArgumentException("unknown role '$role'");
        }
        $names = [];
        if ($role !== 'admin') {
            foreach ($domains as $d) {
                $d = strtolower(trim((string)$d));
                /* ASCII (punycode) host names only: a stray comma or
                 * control character must not widen or break the list. */
                if ($d !== '' && strlen($d) <= 253 && preg_match('/^[a-z0-9_][a-z0-9_.-]*$/', $d)) {
                    $names[$d] = true;
                }
            }
            ksort($names, SORT_STRING);
        }
        $env = ['MAILLOG_ROLE' => $role, 'MAILLOG_USER' => self::cgiUser($user)];
        /* Left out when empty: PHP's proc_open (and so callSbin) drops empty
         * variables anyway, and the CGI reads a missing one as "". */
        $part = '';
        $parts = [];
        foreach (array_keys($names) as $name) {
            if ($part !== '' && strlen($part) + 1 + strlen($name) > self::DOMAINS_PART_MAX) {
                $parts[] = $part;
                $part = '';
            }
            $part .= ($part === '' ? '' : ',') . $name;
        }
        if ($part !== '') {
            $parts[] = $part;
        }
        if (count($parts) > self::DOMAINS_PARTS || count($names) > self::DOMAINS_MAX) {
            throw new RuntimeException('too many domains for one account: ' . count($names));
        }
        foreach ($parts as $i => $text) {
            $env[$i === 0 ? 'MAILLOG_DOMAINS' : 'MAILLOG_DOMAINS_' . ($i + 1)] = $text;
        }
        return $env;
    }

    /**
     * The Plesk login as the CGI takes it: UTF-8 without control characters,
     * at most USER_MAX bytes, never empty (it only names the caller: the
     * scope comes from the domain list).
     */
    private static function cgiUser($user)
    {
        $user = (string)$user;
        if (!preg_match('//u', $user)) {
            $user = rawurlencode($user);            /* not UTF-8: keep it readable */
        }
        $user = preg_replace('/[\x00-\x1f\x7f]/', '', $user);
        if (strlen($user) > self::USER_MAX) {
            $user = substr($user, 0, self::USER_MAX);
            $user = preg_replace('/[\xc0-\xff][\x80-\xbf]*$/', '', $user); /* a cut character */
        }
        return $user === '' ? '-' : $user;
    }

    /** panel.ini MaxLines (string, int or null) → the limit passed to the CGI. */
    public static function maxLines($configured)
    {
        if (is_int($configured)) {
            $v = $configured;
        } elseif (is_string($configured) && preg_match('/^\s*(\d{1,9})\s*$/', $configured, $m)) {
            $v = (int)$m[1];
        } else {
            return self::DEFAULT_MAX_LINES;     /* unset, empty, negative, junk */
        }
        if ($v < 0) {
            return self::DEFAULT_MAX_LINES;
        }
        return min($v, self::MAX_MAX_LINES);
    }

    /**
     * The API route from the request URI path: "/modules/mail-log/index.php/api/v1/me"
     * or a router path info "/api/v1/me" → "/v1/me". Null when it is not an API path.
     */
    public static function apiPath($uriPath)
    {
        $uriPath = (string)$uriPath;
        $q = strpos($uriPath, '?');
        if ($q !== false) {
            $uriPath = substr($uriPath, 0, $q);
        }
        if (preg_match('#/index\.php/api(/[^?]*)?$#', $uriPath, $m) ||
            preg_match('#^/api(/[^?]*)?$#', $uriPath, $m)) {
            $path = isset($m[1]) && $m[1] !== '' ? $m[1] : '/';
            if (strlen($path) > self::MAX_PATH || preg_match('/[\x00-\x1f\x7f]/', $path)) {
                return null;
            }
            return $path;
        }
        return null;
    }

    /**
     * The CGI/1.1 request variables. Content variables only when there is a body.
     * @return array<string,string>
     */
    public static function cgiEnv($method, $pathInfo, $query, $contentType, $bodyLength)
    {
        $env = [
            'GATEWAY_INTERFACE' => 'CGI/1.1',
            'SERVER_PROTOCOL' => 'HTTP/1.1',
            'REQUEST_METHOD' => strtoupper((string)$method),
            'PATH_INFO' => (string)$pathInfo,
            'QUERY_STRING' => (string)$query,
        ];
        if ($bodyLength > 0) {
            $env['CONTENT_TYPE'] = preg_replace('/[\x00-\x1f\x7f]/', '', (string)$contentType);
            $env['CONTENT_LENGTH'] = (string)(int)$bodyLength;
        }
        return $env;
    }

    /**
     * Checks a request before it reaches the CGI. Returns null when it may
     * go on, or the error response to send instead.
     *
     * Plesk itself validates the X-Forgery-Protection-Token value of POST
     * requests against the session. On top, for every method that may change
     * state (anything but GET/HEAD/OPTIONS, so PUT too), the bridge requires
     * that header — a cross-site form cannot send it, and a cross-origin
     * script needs a CORS preflight that the panel never grants — and, when
     * the browser names an Origin (or Referer), that it is the panel's host.
     *
     * @param array<string,string> $req method, path, query, body, token, origin, referer, host
     */
    public static function checkRequest(array $req)
    {
        $method = strtoupper(isset($req['method']) ? (string)$req['method'] : '');
        if (!preg_match('/^[A-Z]{1,10}$/', $method)) {
            return self::error(405, 'method_not_allowed', 'unsupported method');
        }
        if (!isset($req['path']) || $req['path'] === null) {
            return self::error(404, 'not_found', 'not an API path');
        }
        if (isset($req['query']) && strlen((string)$req['query']) > self::MAX_QUERY) {
            return self::error(400, 'bad_parameter', 'query string too long');
        }
        if (isset($req['body']) && strlen((string)$req['body']) > self::MAX_BODY) {
            return self::error(413, 'too_large', 'request body over ' . self::MAX_BODY . ' bytes');
        }
        if (in_array($method, ['GET', 'HEAD', 'OPTIONS'], true)) {
            return null;
        }
        $token = isset($req['token']) ? (string)$req['token'] : '';
        if (!preg_match('/^[A-Za-z0-9_-]{16,256}$/', $token)) {
            return self::error(403, 'forbidden', 'missing or malformed X-Forgery-Protection-Token');
        }
        $host = strtolower(isset($req['host']) ? (string)$req['host'] : '');
        foreach (['origin', 'referer'] as $h) {
            $v = isset($req[$h]) ? (string)$req[$h] : '';
            if ($v === '') {
                continue;
            }
            if ($host === '' || self::urlHost($v) !== $host) {
                return self::error(403, 'forbidden', 'cross-origin request refused');
            }
            return null;  /* Origin decides when present; Referer only without it */
        }
        /* The token is only checked for its shape here: what proves the
         * request comes from the panel's own page is its origin, which every
         * browser sends with a PUT or POST. Without one, it is not a page's. */
        return self::error(403, 'forbidden', 'a change needs the Origin (or Referer) of the panel');
    }

    /** "https://panel.example.com:8443/x" → "panel.example.com:8443" (lower case). */
    private static function urlHost($url)
    {
        $p = parse_url($url);
        if (!is_array($p) || !isset($p['host'])) {
            return '';
        }
        return strtolower($p['host'] . (isset($p['port']) ? ':' . $p['port'] : ''));
    }

    /**
     * The CGI's output → ['status' => int, 'headers' => [name => value], 'body' => string].
     * @param string $stdout   everything the CGI printed
     * @param int    $exitCode its exit status
     */
    public static function parseCgiResponse($stdout, $exitCode = 0)
    {
        $stdout = (string)$stdout;
        $crlf = strpos($stdout, "\r\n\r\n");
        $lf = strpos($stdout, "\n\n");
        if ($crlf === false && $lf === false) {
            return self::error(502, 'internal', $exitCode !== 0
                ? "maillog.cgi failed (exit $exitCode)" : 'maillog.cgi answered without headers');
        }
        if ($lf === false || ($crlf !== false && $crlf < $lf)) {
            $head = substr($stdout, 0, $crlf);
            $body = (string)substr($stdout, $crlf + 4);
        } else {
            $head = substr($stdout, 0, $lf);
            $body = (string)substr($stdout, $lf + 2);
        }
        $lines = preg_split('/\r?\n/', $head);
        if (count($lines) > self::MAX_HEADERS) {
            return self::error(502, 'internal', 'maillog.cgi sent too many headers');
        }
        $status = 200;
        $headers = [];
        foreach ($lines as $line) {
            if (!preg_match('/^([A-Za-z0-9-]{1,64}):[ \t]*(.*?)[ \t]*$/', $line, $m)) {
                return self::error(502, 'internal', 'maillog.cgi sent a malformed header line');
            }
            $name = strtolower($m[1]);
            if ($name === 'status') {
                if (!preg_match('/^([1-5][0-9][0-9])(?:\s|$)/', $m[2], $s)) {
                    return self::error(502, 'internal', 'maillog.cgi sent a malformed Status');
                }
                $status = (int)$s[1];
            } elseif (isset(self::$relayed[$name])) {
                $headers[self::$relayed[$name]] = $m[2];
            }
        }
        if ($exitCode !== 0 && $status < 400) {
            return self::error(502, 'internal', "maillog.cgi failed (exit $exitCode)");
        }
        if (!isset($headers['Content-Type'])) {
            if ($body !== '') {
                return self::error(502, 'internal', 'maillog.cgi sent a body without Content-Type');
            }
        }
        return ['status' => $status, 'headers' => $headers, 'body' => $body];
    }

    /** An answer in the API's error shape (docs/API.md "Errors"). */
    public static function error($status, $code, $message)
    {
        return [
            'status' => (int)$status,
            'headers' => [
                'Content-Type' => 'application/json; charset=utf-8',
                'Cache-Control' => 'no-store',
            ],
            'body' => json_encode(['error' => ['code' => $code, 'message' => $message]],
                JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n",
        ];
    }

    /** Reason phrase for a status line. */
    public static function reason($status)
    {
        return isset(self::$reasons[$status]) ? self::$reasons[$status] : '';
    }

    /**
     * May this role see the extension, given `maillog settings --get`'s JSON
     * (null when it could not be read)? Admin always; resellers and clients
     * unless the admin hid it from them. Unreadable settings show the icon:
     * the CGI enforces the same settings on every request anyway.
     */
    public static function visibleTo($role, $settings)
    {
        if ($role === 'admin') {
            return true;
        }
        if (!is_array($settings)) {
            return true;
        }
        if ($role === 'reseller') {
            return empty($settings['hide_from_resellers']);
        }
        if ($role === 'client') {
            return empty($settings['hide_from_clients']);
        }
        return false;
    }
}
