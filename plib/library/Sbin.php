<?php
/**
 * Sbin.php — the extension's files and its two root programs.
 *
 * Paths live in the extension's var dir (pm_Context::getVarDir(), e.g.
 * /usr/local/psa/var/modules/mail-log/): maillog.ini (deployment config, read
 * by both programs), maillog.db (SQLite, created and owned by the C side),
 * domains.json (written by the scheduled tasks from Plesk's domain list).
 * The programs are sbin/maillog and sbin/maillog.cgi, run as root through
 * pm_ApiCli::callSbin. maillog() returns ['code', 'stdout', 'stderr'] and
 * never throws: a failure to start is code 127 with the reason in stderr.
 */
class Modules_MailLog_Sbin
{
    public static function varDir()
    {
        return rtrim(pm_Context::getVarDir(), '/') . '/';
    }

    public static function configFile()
    {
        return self::varDir() . 'maillog.ini';
    }

    public static function domainsFile()
    {
        return self::varDir() . 'domains.json';
    }

    /** Runs `sbin/maillog CMD ARGS… --config maillog.ini`. */
    public static function maillog($cmd, array $args = [])
    {
        $argv = array_merge([$cmd], $args, ['--config', self::configFile()]);
        return self::call('maillog', $argv, [], '');
    }

    /** Runs sbin/maillog.cgi with the CGI environment and the request body. */
    public static function cgi(array $env, $body)
    {
        return self::call('maillog.cgi', [], $env, (string)$body);
    }

    /** `maillog settings --get` as an array, or null when it cannot be read. */
    public static function globalSettings()
    {
        $r = self::maillog('settings', ['--get']);
        if ($r['code'] !== 0) {
            return null;
        }
        $json = json_decode($r['stdout'], true);
        return is_array($json) ? $json : null;
    }

    private static function call($name, array $args, array $env, $stdin)
    {
        try {
            $r = pm_ApiCli::callSbin($name, $args, pm_ApiCli::RESULT_FULL, $env, $stdin);
        } catch (Exception $e) {
            return ['code' => 127, 'stdout' => '', 'stderr' => $e->getMessage()];
        }
        return [
            'code' => isset($r['code']) ? (int)$r['code'] : 1,
            'stdout' => isset($r['stdout']) ? (string)$r['stdout'] : '',
            'stderr' => isset($r['stderr']) ? (string)$r['stderr'] : '',
        ];
    }
}
