<?php
/*
 * test_bridge.php — the extension's PHP logic with the pm_* doubles of
 * doubles.php: identity → CGI environment for admin/reseller/client, the
 * request checks (CSRF, sizes), the relay of the CGI's answer (status, JSON
 * and CSV headers, body), MaxLines default/override/0, the icon's
 * visibility, the domains file, the scheduled tasks, install and the cron
 * scripts' bodies. The CGI and `maillog` are stand-ins in tests/plesk/stand-ins
 * that answer with what they were given; with MAILLOG_REAL_SBIN set to a
 * directory holding the packed binaries, GET /v1/me also goes through the
 * real maillog.cgi. Prints one line per failed check; exit 1 on any failure.
 *
 * usage: php tests/plesk/test_bridge.php
 */
require __DIR__ . '/doubles.php';

$failures = 0;
$checks = 0;
function check($ok, $what)
{
    global $failures, $checks;
    $checks++;
    if (!$ok) {
        $failures++;
        $bt = debug_backtrace();
        $at = isset($bt[1]['function']) && $bt[1]['function'] === 'eq' ? $bt[1]['line'] : $bt[0]['line'];
        fwrite(STDERR, "FAIL line $at: $what\n");
    }
}
function eq($got, $want, $what)
{
    check($got === $want, $what . ': got ' . var_export($got, true) . ', want ' . var_export($want, true));
}
function csvVars($body)
{
    $vars = [];
    foreach (preg_split('/\r\n/', $body) as $line) {
        $c = strpos($line, ',');
        if ($c !== false) {
            $vars[substr($line, 0, $c)] = substr($line, $c + 1);
        }
    }
    return $vars;
}
function rmTree($dir)
{
    if (!is_dir($dir)) {
        return;
    }
    foreach (scandir($dir) as $f) {
        if ($f !== '.' && $f !== '..') {
            is_dir("$dir/$f") ? rmTree("$dir/$f") : unlink("$dir/$f");
        }
    }
    rmdir($dir);
}

$tmp = sys_get_temp_dir() . '/maillog-plesk-test-' . getmypid();
rmTree($tmp);
mkdir($tmp, 0700, true);
register_shutdown_function('rmTree', $tmp);
pm_Context::init('mail-log');
pm_Context::$varDir = "$tmp/var/";        /* as Plesk: with a trailing slash */
mkdir("$tmp/var");
pm_ApiCli::$sbinDir = standInSbin($tmp);

/* The hosting tree: admin; reseller res1 with customers cli1 and cli2 and a
 * subscription of its own; the admin's own customer cli3; cli4 without domains. */
$admin = new pm_Client(1, 'admin', 'admin', ['email' => 'root@host.example']);
$res1 = new pm_Client(2, 'res1', 'reseller', ['email' => 'res1@res.example', 'parent_id' => 1], [10, 11, 12, 13]);
$cli1 = new pm_Client(3, 'cli1', 'client', ['email' => 'owner1@mail.example', 'parent_id' => 2], [10, 11]);
$cli2 = new pm_Client(4, 'cli2', 'client', ['email' => 'owner2@mail.example', 'parent_id' => 2], [12]);
$cli3 = new pm_Client(5, 'cli3', 'client', ['email' => 'owner3@mail.example', 'parent_id' => 1], [14]);
$cli4 = new pm_Client(6, 'cli4', 'client', ['email' => 'owner4@mail.example', 'parent_id' => 1], []);
pm_Domain::$rows = [
    10 => ['example.com', 3], 11 => ['Shop.Example.ORG', 3], 12 => ['two.example', 4],
    13 => ['res-own.example', 2], 14 => ['other.example', 5],
];
/* example.com has a mail alias and a web-only alias. */
pm_DomainAlias::$rows = [10 => [['example.net', true], ['web-only.example', false]]];

/* ---- identity → environment ------------------------------------------------ */
function envFor($client)
{
    pm_Session::$client = $client;
    $who = Modules_MailLog_Identity::current();
    return Modules_MailLog_Bridge::identityEnv($who['role'], $who['user'], $who['domains']);
}
eq(envFor($admin), ['MAILLOG_ROLE' => 'admin', 'MAILLOG_USER' => 'admin'], 'admin: unrestricted, no domain list');
eq(envFor($res1), ['MAILLOG_ROLE' => 'reseller', 'MAILLOG_USER' => 'res1',
    'MAILLOG_DOMAINS' => 'example.com,example.net,res-own.example,shop.example.org,two.example'],
    "reseller: its customers' and its own domains with mail aliases, not the admin's customer's");
eq(envFor($cli1), ['MAILLOG_ROLE' => 'client', 'MAILLOG_USER' => 'cli1',
    'MAILLOG_DOMAINS' => 'example.com,example.net,shop.example.org'], 'client: its own domains and their mail aliases only');
eq(envFor($cli4), ['MAILLOG_ROLE' => 'client', 'MAILLOG_USER' => 'cli4'], 'client without domains: no list');
eq(Modules_MailLog_Bridge::identityEnv('client', "cl\ni1", ['a.example', 'evil.example,all', ' B.example ', "x\n.example", 'a.example'])['MAILLOG_DOMAINS'],
    'a.example,b.example', 'names with commas/control characters are dropped, duplicates merged');
eq(Modules_MailLog_Bridge::identityEnv('client', "cl\ni1", [])['MAILLOG_USER'], 'cli1', 'user: control characters removed');
eq(Modules_MailLog_Bridge::identityEnv('client', "\x01", [])['MAILLOG_USER'], '-', 'user: never empty');
eq(Modules_MailLog_Bridge::identityEnv('client', "jos\xe9", [])['MAILLOG_USER'], 'jos%E9', 'user: not UTF-8, made readable');
$long = Modules_MailLog_Bridge::identityEnv('client', str_repeat('a', 254) . "\xc3\xa9x", [])['MAILLOG_USER'];
eq($long, str_repeat('a', 254), 'user: at most 255 bytes, not cut inside a character');
/* A reseller with thousands of domains: parts under Linux's 128 KiB limit
 * for one environment string, together the whole list. */
$many = [];
for ($i = 0; $i < 9000; $i++) {
    $many[] = sprintf('customer-domain-%05d.example', $i);
}
$env = Modules_MailLog_Bridge::identityEnv('reseller', 'big', $many);
$parts = array_values(array_filter($env, function ($k) {
    return strpos($k, 'MAILLOG_DOMAINS') === 0;
}, ARRAY_FILTER_USE_KEY));
check(count($parts) > 1 && max(array_map('strlen', $parts)) <= 100000, 'long list: in parts of at most 100000 bytes');
eq(array_keys(array_diff_key($env, ['MAILLOG_ROLE' => 1, 'MAILLOG_USER' => 1])),
   array_merge(['MAILLOG_DOMAINS'], array_map(function ($n) {
       return "MAILLOG_DOMAINS_$n";
   }, range(2, count($parts)))), 'long list: MAILLOG_DOMAINS, then _2, _3 …');
eq(explode(',', implode(',', $parts)), $many, 'long list: the parts add up to the whole list');
$threw = false;
try {
    Modules_MailLog_Bridge::identityEnv('reseller', 'huge', array_map(function ($i) {
        return "d$i.example";
    }, range(0, 50000)));
} catch (RuntimeException $e) {
    $threw = true;
}
check($threw, 'more domains than the CGI takes (50000): refused, not silently cut');
$threw = false;
try {
    Modules_MailLog_Bridge::identityEnv('root', 'x', []);
} catch (InvalidArgumentException $e) {
    $threw = true;
}
check($threw, 'unknown role refused');

/* ---- MaxLines ------------------------------------------------------------- */
$maxLinesCases = [
    'unset' => [null, 10000], 'override' => ['20000', 20000], 'zero' => ['0', 0], 'int' => [500, 500],
    'blank' => ['', 10000], 'junk' => ['lots', 10000], 'negative' => ['-5', 10000], 'huge' => ['999999999', 1000000],
];
foreach ($maxLinesCases as $name => $case) {
    pm_Config::$panelIni = $case[0] === null ? [] : ['MaxLines' => $case[0]];
    eq(Modules_MailLog_Bridge::maxLines(pm_Config::get('MaxLines')), $case[1], "MaxLines $name");
}
eq((new Modules_MailLog_ConfigDefaults())->getDefaults(), ['MaxLines' => 10000], 'ConfigDefaults: MaxLines 10000');

/* ---- apiPath --------------------------------------------------------------- */
eq(Modules_MailLog_Bridge::apiPath('/modules/mail-log/index.php/api/v1/received?domain=a'), '/v1/received', 'apiPath from URI');
eq(Modules_MailLog_Bridge::apiPath('/api/v1/messages/42'), '/v1/messages/42', 'apiPath from router path');
eq(Modules_MailLog_Bridge::apiPath('/modules/mail-log/index.php/api'), '/', 'apiPath of the bare prefix');
eq(Modules_MailLog_Bridge::apiPath('/modules/mail-log/index.php/index/index'), null, 'apiPath: not the API');
eq(Modules_MailLog_Bridge::apiPath("/api/v1/me%00\x01"), null, 'apiPath: control characters refused');

/* ---- the whole request through the stand-in CGI ------------------------------ */
function request(array $r)
{
    pm_ApiCli::$calls = [];
    return Modules_MailLog_Api::handle($r + [
        'method' => 'GET', 'query' => '', 'content_type' => '', 'body' => '', 'token' => '',
        'origin' => '', 'referer' => '', 'host' => 'panel.example.com:8443',
    ]);
}
pm_Config::$panelIni = [];
pm_Session::$client = $cli1;
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/received?domain=example.com&format=csv',
              'query' => 'domain=example.com&format=csv']);
eq($r['status'], 200, 'CSV: status relayed');
eq($r['headers'], ['Content-Type' => 'text/csv; charset=utf-8',
                   'Content-Disposition' => 'attachment; filename="received.csv"'],
   'CSV: Content-Type and Content-Disposition relayed, Set-Cookie and X-Internal dropped');
$v = csvVars($r['body']);
eq(substr($r['body'], 0, 16), "variable,value\r\n", 'CSV: body relayed from its first byte');
eq(isset($v['REQUEST_METHOD']) ? $v['REQUEST_METHOD'] : null, 'GET', 'CGI got REQUEST_METHOD');
eq(isset($v['PATH_INFO']) ? $v['PATH_INFO'] : null, '/v1/received', 'CGI got PATH_INFO without the /api prefix');
eq(isset($v['QUERY_STRING']) ? $v['QUERY_STRING'] : null, 'domain=example.com&format=csv', 'CGI got QUERY_STRING');
eq(isset($v['GATEWAY_INTERFACE']) ? $v['GATEWAY_INTERFACE'] : null, 'CGI/1.1', 'CGI got GATEWAY_INTERFACE');
eq(isset($v['MAILLOG_ROLE']) ? $v['MAILLOG_ROLE'] : null, 'client', 'CGI got the role');
eq(isset($v['MAILLOG_USER']) ? $v['MAILLOG_USER'] : null, 'cli1', 'CGI got the user');
eq(isset($v['MAILLOG_DOMAINS']) ? $v['MAILLOG_DOMAINS'] : null, 'example.com,example.net,shop.example.org', 'CGI got the domains');
eq(isset($v['MAILLOG_MAX_LINES']) ? $v['MAILLOG_MAX_LINES'] : null, '10000', 'CGI got the default MaxLines');
eq(isset($v['MAILLOG_CONFIG']) ? $v['MAILLOG_CONFIG'] : null, "$tmp/var/maillog.ini", "CGI got the var dir's maillog.ini");
check(!isset($v['CONTENT_LENGTH']) && !isset($v['CONTENT_TYPE']), 'GET: no CONTENT_LENGTH/CONTENT_TYPE');
$names = array_filter(explode(' ', isset($v['ENV_NAMES']) ? $v['ENV_NAMES'] : ''));
$allowed = ['GATEWAY_INTERFACE', 'SERVER_PROTOCOL', 'REQUEST_METHOD', 'PATH_INFO', 'QUERY_STRING', 'CONTENT_TYPE',
            'CONTENT_LENGTH', 'MAILLOG_ROLE', 'MAILLOG_USER', 'MAILLOG_DOMAINS', 'MAILLOG_DOMAINS_2', 'MAILLOG_DOMAINS_3',
            'MAILLOG_DOMAINS_4', 'MAILLOG_DOMAINS_5', 'MAILLOG_DOMAINS_6', 'MAILLOG_DOMAINS_7', 'MAILLOG_DOMAINS_8',
            'MAILLOG_MAX_LINES', 'MAILLOG_CONFIG',
            'PATH', 'PWD', 'SHLVL', '_'];
eq(array_values(array_diff($names, $allowed)), [], 'CGI environment holds nothing else');
eq(count(pm_ApiCli::$calls), 1, 'one callSbin per request');
eq(pm_ApiCli::$calls[0]['name'], 'maillog.cgi', 'callSbin runs maillog.cgi');
eq(pm_ApiCli::$calls[0]['args'], [], 'callSbin: no arguments');

pm_Config::$panelIni = ['MaxLines' => '0'];
$v = csvVars(request(['uri' => '/modules/mail-log/index.php/api/v1/log-tail'])['body']);
eq(isset($v['MAILLOG_MAX_LINES']) ? $v['MAILLOG_MAX_LINES'] : null, '0', 'MaxLines=0 reaches the CGI as 0');
pm_Config::$panelIni = ['MaxLines' => '20000'];
$v = csvVars(request(['uri' => '/modules/mail-log/index.php/api/v1/log-tail'])['body']);
eq(isset($v['MAILLOG_MAX_LINES']) ? $v['MAILLOG_MAX_LINES'] : null, '20000', 'MaxLines override reaches the CGI');
pm_Config::$panelIni = [];

pm_Session::$client = $res1;
$v = csvVars(request(['uri' => '/modules/mail-log/index.php/api/v1/me'])['body']);
eq(isset($v['MAILLOG_DOMAINS']) ? $v['MAILLOG_DOMAINS'] : null,
   'example.com,example.net,res-own.example,shop.example.org,two.example', 'reseller request carries its domains');
pm_Session::$client = $admin;
$v = csvVars(request(['uri' => '/modules/mail-log/index.php/api/v1/me'])['body']);
eq([isset($v['MAILLOG_ROLE']) ? $v['MAILLOG_ROLE'] : null, isset($v['MAILLOG_DOMAINS']) ? $v['MAILLOG_DOMAINS'] : null],
   ['admin', null], 'admin request: role admin, no domain list');

/* A PUT with its body: token + same origin → body on stdin, content variables set. */
pm_Session::$client = $cli1;
$body = '{"usual_countries":["DE","AT"],"notify":true,"force_password_change":false,"ip_exceptions":[]}';
$put = ['method' => 'PUT', 'uri' => '/modules/mail-log/index.php/api/v1/domains/example.com/settings',
        'content_type' => 'application/json', 'body' => $body, 'token' => 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        'origin' => 'https://panel.example.com:8443'];
$r = request($put);
$v = csvVars($r['body']);
eq($r['status'], 200, 'PUT with token from the panel origin passes');
eq(isset($v['REQUEST_METHOD']) ? $v['REQUEST_METHOD'] : null, 'PUT', 'CGI got PUT');
eq(isset($v['CONTENT_LENGTH']) ? $v['CONTENT_LENGTH'] : null, (string)strlen($body), 'CGI got CONTENT_LENGTH');
eq(isset($v['CONTENT_TYPE']) ? $v['CONTENT_TYPE'] : null, 'application/json', 'CGI got CONTENT_TYPE');
eq(isset($v['STDIN']) ? $v['STDIN'] : null, $body, 'CGI got the body on stdin, byte for byte');

$r = request(['token' => ''] + $put);
eq([$r['status'], count(pm_ApiCli::$calls)], [403, 0], 'PUT without the forgery token: 403, CGI not run');
eq(json_decode($r['body'], true)['error']['code'], 'forbidden', 'refusal in the API error shape');
$r = request(['origin' => 'https://evil.example'] + $put);
eq([$r['status'], count(pm_ApiCli::$calls)], [403, 0], 'PUT from another origin: 403, CGI not run');
$r = request(['method' => 'POST', 'origin' => '', 'referer' => 'https://evil.example/x'] + $put);
eq([$r['status'], count(pm_ApiCli::$calls)], [403, 0], 'POST with a foreign Referer and no Origin: 403');
$r = request(['method' => 'POST', 'origin' => '', 'referer' => 'https://panel.example.com:8443/modules/mail-log/'] + $put);
eq($r['status'], 200, 'POST with the panel as Referer passes');
$r = request(['origin' => '', 'referer' => ''] + $put);
eq([$r['status'], count(pm_ApiCli::$calls)], [403, 0], 'PUT with neither Origin nor Referer: 403, CGI not run');
$r = request(['method' => 'DELETE', 'token' => 'short'] + $put);
eq($r['status'], 403, 'DELETE with a malformed token: 403');
$r = request(['body' => str_repeat('x', Modules_MailLog_Bridge::MAX_BODY + 1)] + $put);
eq([$r['status'], count(pm_ApiCli::$calls)], [413, 0], 'oversize body: 413, CGI not run');
$r = request(['method' => 'GET', 'uri' => '/modules/mail-log/index.php/api/v1/me', 'query' => str_repeat('q', 9000)]);
eq([$r['status'], count(pm_ApiCli::$calls)], [400, 0], 'oversize query: 400, CGI not run');
$r = request(['uri' => '/modules/mail-log/index.php/index/index']);
eq([$r['status'], count(pm_ApiCli::$calls)], [404, 0], 'non-API path: 404, CGI not run');

/* Errors and failures of the CGI. */
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/messages/9', 'query' => 'status=404']);
eq([$r['status'], $r['headers']['Content-Type']], [404, 'application/json; charset=utf-8'], 'CGI 404 relayed as JSON');
eq(json_decode($r['body'], true)['error']['code'], 'not_found', 'CGI error body relayed');
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/me', 'query' => 'crash=1']);
eq($r['status'], 502, 'CGI exiting without output: 502');
eq(json_decode($r['body'], true)['error']['code'], 'internal', '502 in the API error shape');
pm_Session::$client = $cli4;
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/me']);
eq([$r['status'], count(pm_ApiCli::$calls)], [403, 0], 'client without domains: 403, CGI not run');
pm_Session::$client = null;
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/me']);
eq([$r['status'], count(pm_ApiCli::$calls)], [401, 0], 'no session: 401');
$saved = pm_ApiCli::$sbinDir;
pm_ApiCli::$sbinDir = "$tmp/empty";
pm_Session::$client = $admin;
$r = request(['uri' => '/modules/mail-log/index.php/api/v1/me']);
eq($r['status'], 502, 'CGI missing: 502');
pm_ApiCli::$sbinDir = $saved;

/* ---- parsing the CGI's answer ----------------------------------------------- */
$p = Modules_MailLog_Bridge::parseCgiResponse("Content-Type: application/json\n\n{\"a\":1}\n");
eq([$p['status'], $p['body']], [200, "{\"a\":1}\n"], 'LF headers, no Status: 200');
$p = Modules_MailLog_Bridge::parseCgiResponse("Status: 422 Unprocessable Entity\r\nContent-Type: application/json\r\n\r\nx\r\n\r\ny");
eq([$p['status'], $p['body']], [422, "x\r\n\r\ny"], 'status and a body with blank lines kept whole');
$p = Modules_MailLog_Bridge::parseCgiResponse("Status: 204 No Content\r\n\r\n");
eq([$p['status'], $p['body']], [204, ''], 'empty body without Content-Type is fine');
foreach (['no header end' => "Status: 200 OK\r\nContent-Type: text/plain\r\n",
          'bad status' => "Status: abc\r\nContent-Type: text/plain\r\n\r\nx",
          'status out of range' => "Status: 700 Huh\r\nContent-Type: text/plain\r\n\r\nx",
          'junk header' => "this is not a header\r\n\r\nbody",
          'body without type' => "Status: 200 OK\r\n\r\nbody"] as $what => $out) {
    eq(Modules_MailLog_Bridge::parseCgiResponse($out)['status'], 502, "malformed CGI answer ($what): 502");
}
eq(Modules_MailLog_Bridge::parseCgiResponse("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok", 1)['status'], 502,
   'a 200 from a CGI that failed is not relayed');
eq(Modules_MailLog_Bridge::parseCgiResponse("Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n\r\n{}", 1)['status'], 500,
   'a 5xx from a failed CGI is relayed as is');
eq(Modules_MailLog_Bridge::parseCgiResponse(str_repeat("X-A: 1\r\n", 70) . "\r\n")['status'], 502, 'too many headers: 502');

/* ---- who sees the icon and the pages ----------------------------------------- */
$settingsFile = "$tmp/var/settings.json";
function iconFor($client)
{
    pm_Session::$client = $client;
    $b = new Modules_MailLog_CustomButtons();
    return $b->isVisible(['site_id' => 10]);
}
file_put_contents($settingsFile, json_encode(['hide_from_clients' => true, 'hide_from_resellers' => false,
                                              'client_config_visibility' => 'editable']));
eq([iconFor($admin), iconFor($res1), iconFor($cli1)], [true, true, false], 'icon: hidden from clients only');
file_put_contents($settingsFile, json_encode(['hide_from_clients' => false, 'hide_from_resellers' => true]));
eq([iconFor($admin), iconFor($res1), iconFor($cli1)], [true, false, true], 'icon: hidden from resellers only');
$calls = file("$tmp/var/calls.log", FILE_IGNORE_NEW_LINES);
eq(end($calls), "settings --get --config $tmp/var/maillog.ini", 'visibility asks `maillog settings --get --config …`');
unlink($settingsFile);
eq([iconFor($res1), iconFor($cli1)], [true, true], 'icon: settings unreadable → shown (the CGI still decides)');
$buttons = (new Modules_MailLog_CustomButtons())->getButtons();
eq($buttons[0]['place'], pm_Hook_CustomButtons::PLACE_DOMAIN_PROPERTIES, 'icon on the subscription page');
eq($buttons[0]['contextParams'], true, 'icon passes the domain in the context parameters');
eq($buttons[0]['link'], '/modules/mail-log/index.php/index/domain', 'icon leads to the domain page');
check(is_callable($buttons[0]['visibility']), 'icon has a visibility callback');

/* ---- domains file ---------------------------------------------------------- */
/* The webspaces' system users, in a passwd file of the test's: example.com's
 * (and its alias's) and two.example's; res-own.example's user is not in the
 * file, root is nobody's; the others have no hosting. */
pm_Domain::$sysusers = [10 => 'excom_web', 11 => 'excom_web', 12 => 'two_web', 13 => 'gone_web', 14 => 'root'];
/* Shop.Example.ORG is an add-on domain of example.com's subscription */
pm_Domain::$props = [10 => ['webspace_id' => '0'], 11 => ['webspace_id' => '10'], 12 => ['webspace_id' => '0'],
    13 => ['webspace_id' => '0'], 14 => ['webspace_id' => '0']];
file_put_contents("$tmp/passwd", "root:x:0:0:root:/root:/bin/bash\n"
    . "excom_web:x:10042:1003::/var/www/vhosts/example.com:/bin/false\n"
    . "broken line\n"
    . "two_web:x:10043:1003::/var/www/vhosts/two.example:/bin/false\n");
Modules_MailLog_DomainsFile::$passwdFile = "$tmp/passwd";
$entries = Modules_MailLog_DomainsFile::entries(pm_Domain::getAllDomains());
eq($entries, [
    ['name' => 'example.com', 'owner_email' => 'owner1@mail.example', 'client' => 'cli1', 'reseller' => 'res1', 'sysuser_uid' => 10042, 'main' => true],
    ['name' => 'example.net', 'owner_email' => 'owner1@mail.example', 'client' => 'cli1', 'reseller' => 'res1', 'sysuser_uid' => 10042, 'main' => false],
    ['name' => 'other.example', 'owner_email' => 'owner3@mail.example', 'client' => 'cli3', 'reseller' => '', 'sysuser_uid' => null, 'main' => true],
    ['name' => 'res-own.example', 'owner_email' => 'res1@res.example', 'client' => 'res1', 'reseller' => 'res1', 'sysuser_uid' => null, 'main' => true],
    ['name' => 'shop.example.org', 'owner_email' => 'owner1@mail.example', 'client' => 'cli1', 'reseller' => 'res1', 'sysuser_uid' => 10042, 'main' => false],
    ['name' => 'two.example', 'owner_email' => 'owner2@mail.example', 'client' => 'cli2', 'reseller' => 'res1', 'sysuser_uid' => 10043, 'main' => true],
], 'domains file entries: name, owner e-mail, client, reseller, the webspace user\'s uid, main domain or not; mail aliases too, web-only ones not');
Modules_MailLog_DomainsFile::$passwdFile = "$tmp/no-such-passwd";
eq(array_column(Modules_MailLog_DomainsFile::entries(pm_Domain::getAllDomains()), 'sysuser_uid'),
    [null, null, null, null, null, null], 'an unreadable passwd file: no uids, no failure');
Modules_MailLog_DomainsFile::write("$tmp/var/d.json", $entries);
eq(json_decode(file_get_contents("$tmp/var/d.json"), true), $entries, 'domains file round-trips as JSON');
eq(fileperms("$tmp/var/d.json") & 0777, 0600, 'domains file is 0600');
eq(glob("$tmp/var/d.json.tmp*"), [], 'no temporary file left');

/* ---- scheduled tasks ---------------------------------------------------------- */
function storedTasks($s)
{
    $out = [];
    foreach ($s->stored as $row) {
        $out[] = $row[0] . ' ' . implode(' ', [$row[1]['minute'], $row[1]['hour'], $row[1]['dom'], $row[1]['month'], $row[1]['dow']]);
    }
    sort($out);
    return $out;
}
$s = new pm_Scheduler();
eq(Modules_MailLog_Tasks::ensure($s), ['added ingest.php', 'added alerts.php'], 'fresh install adds both tasks');
eq(storedTasks($s), ['alerts.php 9 * * * *', 'ingest.php */5 * * * *'], 'ingest every 5 min, alerts hourly at :09');
eq(Modules_MailLog_Tasks::ensure($s), [], 'upgrade: nothing added');
eq(count($s->stored), 2, 'upgrade: no duplicates');
$dup = new pm_Scheduler_Task();
$dup->setCmd('ingest.php');
$dup->setSchedule(['minute' => '*/5', 'hour' => '*', 'dom' => '*', 'month' => '*', 'dow' => '*']);
$s->putTask($dup);
$foreign = new pm_Scheduler_Task();
$foreign->setCmd('other.php');
$foreign->setSchedule(pm_Scheduler_Task::class === 'x' ? [] : ['minute' => '0', 'hour' => '3', 'dom' => '*', 'month' => '*', 'dow' => '*']);
$s->putTask($foreign);
foreach ($s->listTasks() as $t) {
    if ($t->getCmd() === 'alerts.php') {
        $t->setSchedule(['minute' => '0', 'hour' => '*', 'dom' => '*', 'month' => '*', 'dow' => '*']);
        $s->putTask($t);
    }
}
eq(Modules_MailLog_Tasks::ensure($s), ['removed duplicate ingest.php', 'rescheduled alerts.php'], 'duplicates removed, schedule fixed');
eq(storedTasks($s), ['alerts.php 9 * * * *', 'ingest.php */5 * * * *', 'other.php 0 3 * * *'], 'one task each, foreign task kept');
eq(Modules_MailLog_Tasks::remove($s), ['removed ingest.php', 'removed alerts.php'], 'uninstall removes ours');
eq(storedTasks($s), ['other.php 0 3 * * *'], 'uninstall leaves foreign tasks');

/* ---- install ----------------------------------------------------------------- */
$ini = Modules_MailLog_Installer::configText('/v/', [], '/v/country.mmdb');
check(strpos($ini, "db = /v/maillog.db\n") !== false && strpos($ini, "domains = /v/domains.json\n") !== false
      && strpos($ini, "geoip = /v/country.mmdb\n") !== false, 'maillog.ini: db, domains, geoip in the var dir');
check(!preg_match('/^log =/m', $ini), 'maillog.ini: no log line when no log exists yet (maillog picks one at each run)');
$ini = Modules_MailLog_Installer::configText('/v/', ['/var/log/mail.log'], '/g.mmdb');
check(strpos($ini, 'log = /var/log/mail.log') !== false && strpos($ini, 'log = /var/log/maillog') === false, 'maillog.ini: only the log that exists');
$ini = Modules_MailLog_Installer::configText('/v/', ['/var/log/maillog', '/var/log/mail.log'], '/g.mmdb');
check(strpos($ini, 'log = /var/log/maillog') !== false && strpos($ini, 'log = /var/log/mail.log') === false, 'maillog.ini: both exist → /var/log/maillog only');

pm_Context::$varDir = "$tmp/fresh/var/";
pm_Context::$plibDir = "$tmp/plib/";
mkdir("$tmp/plib/resources", 0755, true);
touch("$tmp/plib/resources/country.mmdb");
pm_Scheduler::resetInstance();
$threw = null;
try {
    Modules_MailLog_Installer::install();
} catch (RuntimeException $e) {
    $threw = $e->getMessage();
}
check($threw !== null && strpos($threw, 'no database') !== false, 'install fails when maillog cannot open its database');
check(is_file("$tmp/fresh/var/maillog.ini") && (fileperms("$tmp/fresh/var/maillog.ini") & 0777) === 0600, 'maillog.ini written 0600 before the database');
file_put_contents("$tmp/fresh/var/settings.json", '{"hide_from_clients":false}');
$log = Modules_MailLog_Installer::install();
eq($log, ['database ready', 'added ingest.php', 'added alerts.php'], 'install log (retry after a failure)');
eq(count(json_decode(file_get_contents("$tmp/fresh/var/domains.json"), true)), 6, 'install writes the domains file');
$geoipLine = preg_match('/^geoip = (.*)$/m', file_get_contents("$tmp/fresh/var/maillog.ini"), $m) ? $m[1] : null;
check(in_array($geoipLine, array_merge(Modules_MailLog_Installer::GEOIP, ["$tmp/plib/resources/country.mmdb"]), true)
      && ($geoipLine === "$tmp/plib/resources/country.mmdb" || is_file($geoipLine)),
      "maillog.ini: a system GeoLite2 database, else the bundled one ($geoipLine)");
file_put_contents("$tmp/fresh/var/maillog.ini", "; edited by the admin\n", FILE_APPEND);
$log = Modules_MailLog_Installer::install();
eq($log, ['database ready'], 'upgrade: config kept, no task added');
check(substr(file_get_contents("$tmp/fresh/var/maillog.ini"), -22) === "; edited by the admin\n", "upgrade keeps the admin's maillog.ini");
eq(count(pm_Scheduler::getInstance()->stored), 2, 'upgrade: still two tasks');
eq(Modules_MailLog_Installer::uninstall(), ['removed ingest.php', 'removed alerts.php'], 'uninstall');

/* ---- the cron scripts' bodies ---------------------------------------------------- */
@unlink("$tmp/fresh/var/calls.log");
unlink("$tmp/fresh/var/domains.json");
eq(Modules_MailLog_Cron::run('ingest'), 0, 'ingest task: exit 0');
eq(file("$tmp/fresh/var/calls.log", FILE_IGNORE_NEW_LINES), ["ingest --config $tmp/fresh/var/maillog.ini"], 'ingest task runs `maillog ingest --config …`');
check(is_file("$tmp/fresh/var/domains.json"), 'ingest task writes the domains file first');
unlink("$tmp/fresh/var/calls.log");
touch("$tmp/fresh/var/fail-alerts");
eq(Modules_MailLog_Cron::run('alerts'), 4, "alerts task: alerts' failure is the exit code");
eq(file("$tmp/fresh/var/calls.log", FILE_IGNORE_NEW_LINES), ["alerts --config $tmp/fresh/var/maillog.ini"], 'alerts task runs `maillog alerts --config …`');
unlink("$tmp/fresh/var/calls.log");
$held = fopen("$tmp/fresh/var/ingest.lock", 'c');
flock($held, LOCK_EX);
eq(Modules_MailLog_Cron::run('ingest'), 0, 'ingest while another ingest runs: exit 0');
check(!file_exists("$tmp/fresh/var/calls.log"), 'ingest while another ingest runs: maillog not started');
flock($held, LOCK_UN);
fclose($held);

/* ---- the real binaries, when built: install, ingest, API through the bridge ---- */
$real = getenv('MAILLOG_REAL_SBIN');
if ($real !== false && $real !== '') {
    pm_ApiCli::$sbinDir = $real;
    pm_Context::$varDir = "$tmp/real/";
    pm_Scheduler::resetInstance();
    mkdir("$tmp/real");
    /* The config as post-install writes it, but with a log of our own. */
    file_put_contents("$tmp/real/maillog.ini",
        Modules_MailLog_Installer::configText("$tmp/real/", ["$tmp/real/mail.log"], "$tmp/real/none.mmdb"));
    $t = gmdate('Y-m-d\TH:i:s') . '.000000+00:00';
    $lines = [];
    foreach ([['3F1A2B3C4D', 'bob@example.com', 'alice@sender.example'],
              ['4B2C3D4E5F', 'carol@two.example', 'dave@sender.example']] as $i => $m) {
        list($qid, $to, $from) = $m;
        $pid = 100 + 10 * $i;
        $lines[] = "$t mx postfix/smtpd[$pid]: connect from unknown[192.0.2.1$i]";
        $lines[] = "$t mx postfix/smtpd[$pid]: $qid: client=unknown[192.0.2.1$i]";
        $lines[] = "$t mx postfix/cleanup[101]: $qid: message-id=<m$i@sender.example>";
        $lines[] = "$t mx postfix/qmgr[102]: $qid: from=<$from>, size=123$i, nrcpt=1 (queue active)";
        $lines[] = "$t mx postfix/virtual[103]: $qid: to=<$to>, relay=virtual, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)";
        $lines[] = "$t mx postfix/qmgr[102]: $qid: removed";
        $lines[] = "$t mx postfix/smtpd[$pid]: disconnect from unknown[192.0.2.1$i]";
    }
    file_put_contents("$tmp/real/mail.log", implode("\n", $lines) . "\n");

    $threw = null;
    try {
        $log = Modules_MailLog_Installer::install();
    } catch (RuntimeException $e) {
        $threw = $e->getMessage();
        $log = [];
    }
    if ($threw !== null && strpos($threw, 'not built yet') !== false) {
        echo "test_bridge: SKIP real install/ingest: maillog settings is still the placeholder\n";
    } else {
        eq($threw, null, 'real maillog: post-install succeeds');
        eq($log, ['database ready', 'added ingest.php', 'added alerts.php'], 'real maillog: post-install log');
        check(is_file("$tmp/real/maillog.db"), 'real maillog: post-install created the database');
        eq(Modules_MailLog_Cron::run('ingest'), 0, 'real maillog: the ingest task succeeds');
    }

    pm_Session::$client = $cli1;
    $r = request(['uri' => '/modules/mail-log/index.php/api/v1/me']);
    if ($r['status'] === 503 && strpos($r['body'], 'not built yet') !== false) {
        echo "test_bridge: SKIP real maillog.cgi: it is still the placeholder\n";
    } else {
        $me = json_decode($r['body'], true);
        eq($r['status'], 200, 'real CGI: /v1/me answers 200 (' . substr($r['body'], 0, 200) . ')');
        eq(isset($me['role']) ? $me['role'] : null, 'client', 'real CGI: role from the bridge');
        eq(isset($me['domains']) ? $me['domains'] : null, ['example.com', 'example.net', 'shop.example.org'], 'real CGI: domains from the bridge');
        pm_Session::$client = $admin;
        $me = json_decode(request(['uri' => '/modules/mail-log/index.php/api/v1/me'])['body'], true);
        eq(isset($me['role']) ? $me['role'] : null, 'admin', 'real CGI: admin');
        /* The whole list of a reseller with 9000 domains reaches the CGI. */
        $r = pm_ApiCli::callSbin('maillog.cgi', [], pm_ApiCli::RESULT_FULL,
            Modules_MailLog_Bridge::identityEnv('reseller', 'big', $many) +
            ['REQUEST_METHOD' => 'GET', 'PATH_INFO' => '/v1/me', 'MAILLOG_CONFIG' => "$tmp/real/maillog.ini"]);
        $me = json_decode(substr($r['stdout'], strpos($r['stdout'], "\r\n\r\n") + 4), true);
        eq(isset($me['domains']) ? $me['domains'] : $r, $many, 'real CGI: 9000 domains of a reseller, in parts');
        pm_Session::$client = $cli1;
        $r = request(['uri' => '/modules/mail-log/index.php/api/v1/settings']);
        eq($r['status'], 403, 'real CGI: a client may not read the admin settings');
        $r = request(['uri' => '/modules/mail-log/index.php/api/v1/received', 'query' => 'domain=two.example']);
        check($r['status'] === 403 || $r['status'] === 404, "real CGI: another customer's domain refused ({$r['status']})");
        if ($threw === null) {
            /* What the ingest task stored, seen through the bridge per identity. */
            $r = request(['uri' => '/modules/mail-log/index.php/api/v1/received', 'query' => 'domain=example.com']);
            $got = json_decode($r['body'], true);
            eq([$r['status'], isset($got['total']) ? $got['total'] : null], [200, 1], 'real: cli1 sees one received mail');
            eq(isset($got['rows'][0]) ? [$got['rows'][0]['mailbox'], $got['rows'][0]['sender']] : null,
               ['bob@example.com', 'alice@sender.example'], 'real: the mail of the log, to cli1\'s mailbox');
            $r = request(['uri' => '/modules/mail-log/index.php/api/v1/received', 'query' => 'domain=example.com&format=csv']);
            eq(isset($r['headers']['Content-Type']) ? strpos($r['headers']['Content-Type'], 'text/csv') : null, 0, 'real: CSV relayed as text/csv');
            eq(isset($r['headers']['X-Content-Type-Options']) ? $r['headers']['X-Content-Type-Options'] : null, 'nosniff',
               'real: the CGI\'s nosniff reaches the browser');
            check(strpos($r['body'], 'bob@example.com') !== false && strpos($r['body'], 'carol@two.example') === false,
                  "real: cli1's CSV holds its mail and not cli2's");
            pm_Session::$client = $cli2;
            $got = json_decode(request(['uri' => '/modules/mail-log/index.php/api/v1/received', 'query' => 'domain=two.example'])['body'], true);
            eq(isset($got['rows'][0]['mailbox']) ? [$got['total'], $got['rows'][0]['mailbox']] : null, [1, 'carol@two.example'], 'real: cli2 sees its own mail');
            pm_Session::$client = $admin;
            $got = json_decode(request(['uri' => '/modules/mail-log/index.php/api/v1/received'])['body'], true);
            eq(isset($got['total']) ? $got['total'] : null, 2, 'real: admin sees both');
        }
        echo "test_bridge: real binaries from $real checked through the bridge\n";
    }
}

echo "test_bridge: $checks checks, $failures failed\n";
exit($failures === 0 ? 0 : 1);
