<?php
/*
 * test_controllers.php — plib/controllers on the Zend doubles of
 * zend_doubles.php and the pm_* doubles: ApiController copies a request
 * (method, URI, CONTENT_TYPE, body, CSRF header, origin) into the bridge and
 * the answer (status, headers, body) out with the layout off;
 * IndexController mounts the UI with the right view, domain and API base,
 * refuses foreign domains and identities the admin hid the extension from.
 * The CGI and `maillog` are the stand-ins of tests/plesk/stand-ins.
 * Exit 1 on any failed check.
 */
require __DIR__ . '/doubles.php';
require __DIR__ . '/zend_doubles.php';
require dirname(__DIR__, 2) . '/plib/controllers/ApiController.php';
require dirname(__DIR__, 2) . '/plib/controllers/IndexController.php';

$failures = 0;
$checks = 0;
function eq($got, $want, $what)
{
    global $failures, $checks;
    $checks++;
    if ($got !== $want) {
        $failures++;
        $line = debug_backtrace()[0]['line'];
        fwrite(STDERR, "FAIL line $line: $what: got " . var_export($got, true) . ', want ' . var_export($want, true) . "\n");
    }
}
function has($haystack, $needle, $what)
{
    eq(strpos((string)$haystack, $needle) !== false, true, "$what (looking for '$needle')");
}

$tmp = sys_get_temp_dir() . '/maillog-plesk-ctl-' . getmypid();
mkdir("$tmp/var", 0700, true);
mkdir("$tmp/htdocs/dist", 0755, true);
register_shutdown_function(function () use ($tmp) {
    exec('rm -rf ' . escapeshellarg($tmp));
});
pm_Context::init('mail-log');
pm_Context::$varDir = "$tmp/var/";
pm_Context::$htdocsDir = "$tmp/htdocs/";
pm_ApiCli::$sbinDir = standInSbin($tmp);

$admin = new pm_Client(1, 'admin', 'admin');
$res1 = new pm_Client(2, 'res1', 'reseller', [], [10, 12]);
$cli1 = new pm_Client(3, 'cli1', 'client', [], [10]);
$cli2 = new pm_Client(4, 'cli2', 'client', [], [12]);
pm_Domain::$rows = [10 => ['example.com', 3], 12 => ['two.example', 4]];

function api($method, $uri, array $server = [], $body = '')
{
    $q = strpos($uri, '?');
    $_SERVER = $server + ['REQUEST_METHOD' => $method, 'REQUEST_URI' => $uri,
        'QUERY_STRING' => $q === false ? '' : substr($uri, $q + 1), 'HTTP_HOST' => 'panel.example.com:8443'];
    Doubles_Request::$body = $body;
    $c = new ApiController('api');
    $c->dispatch(preg_match('#/api/([^/?]+)#', $uri, $m) ? $m[1] : 'index');
    return $c;
}
function vars($body)
{
    $out = [];
    foreach (explode("\r\n", $body) as $line) {
        $c = strpos($line, ',');
        if ($c !== false) {
            $out[substr($line, 0, $c)] = substr($line, $c + 1);
        }
    }
    return $out;
}

/* ---- access level: Plesk admits only admins unless the controller says more ------ */
foreach (['ApiController', 'IndexController'] as $class) {
    $level = (new ReflectionProperty($class, '_accessLevel'));
    $level->setAccessible(true);
    $_SERVER = ['REQUEST_METHOD' => 'GET', 'REQUEST_URI' => '/', 'HTTP_HOST' => 'h'];
    pm_Session::$client = $admin;
    eq($level->getValue(new $class('x')), ['admin', 'reseller', 'client'], "$class admits resellers and clients");
}

/* ---- ApiController ------------------------------------------------------------ */
pm_Session::$client = $cli1;
$c = api('GET', '/modules/mail-log/index.php/api/v1/received?domain=example.com&format=csv');
eq([$c->helpers()->layoutObject->enabled, $c->helpers()->viewRenderer->noRender], [false, true], 'API: no layout, no view');
eq($c->getResponse()->code, 200, 'API: status relayed');
eq($c->getResponse()->headers, [['Content-Type', 'text/csv; charset=utf-8', true],
    ['Content-Disposition', 'attachment; filename="received.csv"', true]], 'API: CSV headers relayed, replacing Plesk\'s');
$v = vars($c->getResponse()->body);
eq([$v['PATH_INFO'], $v['QUERY_STRING'], $v['MAILLOG_ROLE'], $v['MAILLOG_DOMAINS']],
   ['/v1/received', 'domain=example.com&format=csv', 'client', 'example.com'], 'API: request and identity reach the CGI');

$body = '{"notify":true}';
$put = ['CONTENT_TYPE' => 'application/json', 'HTTP_X_FORGERY_PROTECTION_TOKEN' => 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        'HTTP_ORIGIN' => 'https://panel.example.com:8443'];
$c = api('PUT', '/modules/mail-log/index.php/api/v1/domains/example.com/settings', $put, $body);
$v = vars($c->getResponse()->body);
eq([$c->getResponse()->code, $v['REQUEST_METHOD'], $v['CONTENT_TYPE'], $v['CONTENT_LENGTH'], $v['STDIN']],
   [200, 'PUT', 'application/json', (string)strlen($body), $body], 'API: PUT body, CONTENT_TYPE (not an HTTP_ header) reach the CGI');
$c = api('PUT', '/modules/mail-log/index.php/api/v1/domains/example.com/settings',
    ['HTTP_X_FORGERY_PROTECTION_TOKEN' => ''] + $put, $body);
eq($c->getResponse()->code, 403, 'API: PUT without Plesk\'s CSRF header refused');
$c = api('POST', '/modules/mail-log/index.php/api/v1/alerts/test', ['HTTP_ORIGIN' => 'https://evil.example'] + $put, '{}');
eq($c->getResponse()->code, 403, 'API: POST from another origin refused');
$c = api('GET', '/modules/mail-log/index.php/api/v2/anything');
eq(vars($c->getResponse()->body)['PATH_INFO'], '/v2/anything', 'API: other first segments reach the CGI through __call');

/* ---- IndexController -------------------------------------------------------------- */
function page($client, $action, array $get = [])
{
    pm_Session::$client = $client;
    $_GET = $get;
    $c = new IndexController('index');
    $c->dispatch($action);
    return $c;
}
file_put_contents("$tmp/htdocs/dist/main.js", '/* bundle */');
touch("$tmp/htdocs/dist/main.js", 1700000000);
file_put_contents("$tmp/var/settings.json", '{"hide_from_clients":false,"hide_from_resellers":false}');

$c = page($cli1, 'domain', ['site_id' => '10']);
$html = $c->view->rendered;
eq($c->getResponse()->code, 200, 'subscription page: 200');
has($html, 'id="maillog-root"', 'subscription page: mount point');
has($html, 'data-api-base="/modules/mail-log/index.php/api"', 'subscription page: API base');
has($html, 'data-mode="plesk"', 'subscription page: Plesk mode');
has($html, 'data-view="subscription"', 'subscription page: subscription view');
has($html, 'data-domain="example.com"', 'subscription page: the domain from site_id');
has($html, 'src="/modules/mail-log/dist/main.js?v=1700000000"', 'subscription page: bundle with a cache-busting stamp');
has($html, 'href="/modules/mail-log/dist/main.css?v=1700000000"', 'subscription page: stylesheet');
eq(strpos($html, 'msg-warning'), false, 'subscription page: no missing-bundle warning');

$c = page($cli1, 'domain', ['site_id' => '12']);
eq($c->getResponse()->code, 403, "another customer's subscription: 403");
eq(strpos($c->view->rendered, 'maillog-root'), false, "another customer's subscription: UI not mounted");
$c = page($res1, 'domain', ['site_id' => '12']);
has($c->view->rendered, 'data-domain="two.example"', "reseller opens its customer's subscription");

$c = page($admin, 'index');
has($c->view->rendered, 'data-view="admin"', 'admin page: admin view');
has($c->view->rendered, 'data-domain=""', 'admin page: no domain');

file_put_contents("$tmp/var/settings.json", '{"hide_from_clients":true,"hide_from_resellers":false}');
$c = page($cli1, 'domain', ['site_id' => '10']);
eq($c->getResponse()->code, 403, 'hidden from clients: client gets 403');
has($c->view->rendered, 'not made Mail log available', 'hidden from clients: says why');
$c = page($res1, 'domain', ['site_id' => '10']);
eq($c->getResponse()->code, 200, 'hidden from clients: reseller still sees it');
$c = page($admin, 'domain', ['site_id' => '10']);
eq($c->getResponse()->code, 200, 'hidden from clients: admin still sees it');

unlink("$tmp/htdocs/dist/main.js");
$c = page($admin, 'index');
has($c->view->rendered, 'msg-warning', 'missing UI bundle: the page says so');

echo "test_controllers: $checks checks, $failures failed\n";
exit($failures === 0 ? 0 : 1);
