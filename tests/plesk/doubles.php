<?php
/*
 * doubles.php — small stand-ins for the few Plesk classes the extension's
 * plib/ calls, so that tests/plesk/test_bridge.php runs it with php-cli.
 * They keep Plesk's calling conventions (pm-api-stubs signatures) and the
 * behaviour the extension relies on:
 *  - pm_ApiCli::callSbin really runs "<sbin dir>/<name>" with exactly the
 *    given environment (plus PATH) and stdin, and returns code/stdout/stderr
 *    like RESULT_FULL; every call is recorded;
 *  - pm_Config::get falls back to the extension's ConfigDefaults hook, as
 *    Plesk does for keys missing from panel.ini;
 *  - pm_Client/pm_Domain form a small hosting tree set up by the test.
 * Also an autoloader for Modules_MailLog_* from plib/library and plib/hooks.
 */

spl_autoload_register(function ($class) {
    $plib = dirname(__DIR__, 2) . '/plib/';
    if (strpos($class, 'Modules_MailLog_') !== 0) {
        return;
    }
    $rest = substr($class, strlen('Modules_MailLog_'));
    foreach (['library/' . str_replace('_', '/', $rest) . '.php', 'hooks/' . $rest . '.php'] as $f) {
        if (is_file($plib . $f)) {
            require_once $plib . $f;
            return;
        }
    }
});

class pm_Exception extends Exception
{
}

interface pm_Hook_Interface
{
}

abstract class pm_Hook_ConfigDefaults implements pm_Hook_Interface
{
    abstract public function getDefaults();
}

abstract class pm_Hook_CustomButtons implements pm_Hook_Interface
{
    const PLACE_ADMIN_TOOLS_AND_SETTINGS = 5;
    const PLACE_DOMAIN = 8;
    const PLACE_DOMAIN_PROPERTIES = 9;
    const SECTION_ADMIN_TOOLS_MAIL = 'mailButtons';

    abstract public function getButtons();
}

class pm_Context
{
    public static $varDir = '/nonexistent/';
    public static $moduleId = null;

    public static function init($moduleId)
    {
        self::$moduleId = $moduleId;
    }

    public static function getVarDir()
    {
        return self::$varDir;
    }

    public static $plibDir = '/nonexistent/plib/';
    public static $htdocsDir = '/nonexistent/htdocs/';

    public static function getHtdocsDir()
    {
        return self::$htdocsDir;
    }

    public static function getPlibDir()
    {
        return self::$plibDir;
    }

    public static function getBaseUrl()
    {
        return '/modules/' . self::$moduleId . '/';
    }

    public static function getActionUrl($controller, $action = 'index')
    {
        return self::getBaseUrl() . "index.php/$controller/$action";
    }
}

class pm_Config
{
    /** panel.ini [ext-mail-log] as the test sets it */
    public static $panelIni = [];

    public static function get($name, $default = null)
    {
        if (array_key_exists($name, self::$panelIni)) {
            return self::$panelIni[$name];
        }
        $defaults = (new Modules_MailLog_ConfigDefaults())->getDefaults();
        return array_key_exists($name, $defaults) ? $defaults[$name] : $default;
    }
}

class pm_Client
{
    public static $all = [];
    private $id, $login, $kind, $props, $access;

    /** kind: admin|reseller|client; access: ids of the domains it may access */
    public function __construct($id, $login, $kind, array $props = [], array $access = [])
    {
        $this->id = $id;
        $this->login = $login;
        $this->kind = $kind;
        $this->props = $props;
        $this->access = $access;
        self::$all[$id] = $this;
    }

    public static function getByClientId($id)
    {
        if (!isset(self::$all[$id])) {
            throw new pm_Exception("no client $id");
        }
        return self::$all[$id];
    }

    public function getId() { return $this->id; }
    public function getLogin() { return $this->login; }
    public function isAdmin() { return $this->kind === 'admin'; }
    public function isReseller() { return $this->kind === 'reseller'; }
    public function isClient() { return $this->kind === 'client'; }
    public function getProperty($name) { return isset($this->props[$name]) ? $this->props[$name] : null; }

    public function hasAccessToDomain($domainId)
    {
        return $this->kind === 'admin' || in_array((int)$domainId, $this->access, true);
    }
}

class pm_Domain
{
    /** id => [name, owner client id] */
    public static $rows = [];
    private $id;

    public function __construct($domainId)
    {
        if (!isset(self::$rows[$domainId])) {
            throw new pm_Exception("no domain $domainId");
        }
        $this->id = (int)$domainId;
    }

    public static function getAllDomains($mainDomainsOnly = false)
    {
        $out = [];
        foreach (array_keys(self::$rows) as $id) {
            $out[] = new pm_Domain($id);
        }
        return $out;
    }

    public static function getDomainsByClient($client, $mainDomainsOnly = false)
    {
        $out = [];
        foreach (self::$rows as $id => $row) {
            if ($row[1] === $client->getId()) {
                $out[] = new pm_Domain($id);
            }
        }
        return $out;
    }

    public function getId() { return $this->id; }
    public function getName() { return self::$rows[$this->id][0]; }
    public function getClient() { return pm_Client::getByClientId(self::$rows[$this->id][1]); }

    /** id => [property => value] (the psa.domains row; webspace_id 0: a main domain) */
    public static $props = [];
    public function getProperty($name)
    {
        return isset(self::$props[$this->id][$name]) ? self::$props[$this->id][$name] : null;
    }

    /** id => webspace system user login; absent: no web hosting (Plesk throws) */
    public static $sysusers = [];
    public function getSysUserLogin()
    {
        if (!isset(self::$sysusers[$this->id])) {
            throw new pm_Exception("domain {$this->id} has no hosting");
        }
        return self::$sysusers[$this->id];
    }
}

class pm_DomainAlias
{
    /** domain id => [[alias name, has mail service], …] */
    public static $rows = [];
    private $name, $mail;

    public function __construct($name, $mail)
    {
        $this->name = $name;
        $this->mail = $mail;
    }

    public static function getByDomain(pm_Domain $domain)
    {
        $out = [];
        $rows = isset(self::$rows[$domain->getId()]) ? self::$rows[$domain->getId()] : [];
        foreach ($rows as $row) {
            $out[] = new pm_DomainAlias($row[0], $row[1]);
        }
        return $out;
    }

    public function getName() { return $this->name; }
    public function hasServiceMail() { return $this->mail; }
}

class pm_Session
{
    public static $client = null;

    public static function getClient()
    {
        if (self::$client === null) {
            throw new pm_Exception('no session');
        }
        return self::$client;
    }
}

/* A temporary sbin/ whose `maillog` and `maillog.cgi` are the shell
 * stand-ins of tests/plesk/stand-ins/ (kept there under descriptive names). */
function standInSbin(string $tmp): string
{
    $dir = "$tmp/stand-in-sbin";
    @mkdir($dir, 0700, true);
    foreach (['maillog' => 'maillog-stand-in.sh', 'maillog.cgi' => 'maillog-cgi-stand-in.sh'] as $name => $file) {
        @unlink("$dir/$name");
        symlink(__DIR__ . "/stand-ins/$file", "$dir/$name");
    }
    return $dir;
}

class pm_ApiCli
{
    const RESULT_FULL = 1;
    const RESULT_STDOUT = 2;
    const RESULT_STDERR = 3;
    const RESULT_CODE = 4;
    const RESULT_EXCEPTION = 5;

    public static $sbinDir = '/nonexistent';
    public static $calls = [];

    public static function callSbin($command, $args = [], $result = 5, $env = [], $stdin = '')
    {
        self::$calls[] = ['name' => $command, 'args' => $args, 'env' => $env, 'stdin' => $stdin];
        if ($result !== self::RESULT_FULL) {
            throw new LogicException('the extension only uses RESULT_FULL');
        }
        if (strpos($command, '/') !== false) {
            throw new pm_Exception("bad sbin name $command");
        }
        $path = self::$sbinDir . '/' . $command;
        if (!is_executable($path)) {
            throw new pm_Exception("$command is not an executable of the extension");
        }
        $cmd = array_merge([$path], array_map('strval', $args));
        $env = array_map('strval', $env) + ['PATH' => '/usr/bin:/bin'];
        $p = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        if (!is_resource($p)) {
            throw new pm_Exception("cannot run $command");
        }
        fwrite($pipes[0], (string)$stdin);
        fclose($pipes[0]);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return ['code' => proc_close($p), 'stdout' => $out, 'stderr' => $err];
    }
}

class pm_Scheduler_Task
{
    private $id = null, $cmd = null, $schedule = [];

    public function getId() { return $this->id; }
    public function setId($id) { $this->id = $id; }     /* the double's scheduler only */
    public function getCmd() { return $this->cmd; }
    public function setCmd($cmd) { $this->cmd = $cmd; }
    public function getSchedule() { return $this->schedule; }
    public function setSchedule($schedule) { $this->schedule = $schedule; }
}

class pm_Scheduler
{
    private static $instance = null;
    /** id => [cmd, schedule]: what the panel has stored */
    public $stored = [];
    private $next = 1;

    public static function getInstance()
    {
        if (self::$instance === null) {
            self::$instance = new pm_Scheduler();
        }
        return self::$instance;
    }

    public static function resetInstance()
    {
        self::$instance = null;
    }

    public function listTasks()
    {
        $out = [];
        foreach ($this->stored as $id => $row) {
            $t = new pm_Scheduler_Task();
            $t->setId($id);
            $t->setCmd($row[0]);
            $t->setSchedule($row[1]);
            $out[] = $t;
        }
        return $out;
    }

    public function putTask($task)
    {
        if ($task->getId() === null) {
            $task->setId('t' . $this->next++);
        }
        $this->stored[$task->getId()] = [$task->getCmd(), $task->getSchedule()];
    }

    public function removeTask($task)
    {
        if (!isset($this->stored[$task->getId()])) {
            throw new pm_Exception('no such task');
        }
        unset($this->stored[$task->getId()]);
    }
}
