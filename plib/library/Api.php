<?php
/**
 * Api.php — one browser request to /modules/mail-log/index.php/api/… → one
 * run of maillog.cgi → one response, with the caller's identity in the CGI
 * environment (the browser cannot set or widen it).
 *
 * handle() takes the request as plain values (method, uri, query,
 * content_type, body, token, origin, referer, host) and returns
 * ['status' => int, 'headers' => [name => value], 'body' => string]; the
 * controller only copies these in and out. A reseller or client without a
 * single domain gets 403 here, without asking the CGI.
 */
class Modules_MailLog_Api
{
    public static function handle(array $req)
    {
        $req['path'] = Modules_MailLog_Bridge::apiPath(isset($req['uri']) ? $req['uri'] : '');
        $refused = Modules_MailLog_Bridge::checkRequest($req);
        if ($refused !== null) {
            return $refused;
        }
        try {
            $who = Modules_MailLog_Identity::current();
        } catch (Exception $e) {
            return Modules_MailLog_Bridge::error(401, 'unauthenticated', 'no Plesk session');
        }
        $identity = Modules_MailLog_Bridge::identityEnv($who['role'], $who['user'], $who['domains']);
        if ($who['role'] !== 'admin' && !isset($identity['MAILLOG_DOMAINS'])) {
            return Modules_MailLog_Bridge::error(403, 'forbidden', 'no domains to show for this account');
        }
        $body = isset($req['body']) ? (string)$req['body'] : '';
        $env = Modules_MailLog_Bridge::cgiEnv($req['method'], $req['path'],
            isset($req['query']) ? $req['query'] : '',
            isset($req['content_type']) ? $req['content_type'] : '', strlen($body));
        $env += $identity;
        $env['MAILLOG_MAX_LINES'] = (string)Modules_MailLog_Bridge::maxLines(pm_Config::get('MaxLines'));
        $env['MAILLOG_CONFIG'] = Modules_MailLog_Sbin::configFile();

        $r = Modules_MailLog_Sbin::cgi($env, $body);
        if ($r['code'] === 127 && $r['stdout'] === '') {
            return Modules_MailLog_Bridge::error(502, 'internal', 'maillog.cgi could not be run: ' . $r['stderr']);
        }
        return Modules_MailLog_Bridge::parseCgiResponse($r['stdout'], $r['code']);
    }
}
