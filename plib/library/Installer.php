<?php
/**
 * Installer.php — what post-install and pre-uninstall do.
 *
 * install(): creates the var dir, writes maillog.ini unless it exists (an
 * upgrade keeps the admin's edits; the GeoIP database is a GeoLite2-Country
 * kept up to date by geoipupdate when there is one, else the country
 * database the package ships in plib/resources/, which upgrades replace),
 * writes the domains file, lets the C side
 * create or migrate the database (`maillog settings --get` opens it), and
 * registers the scheduled tasks without duplicates. uninstall(): removes the
 * tasks; Plesk deletes the var dir with the extension.
 * Both return log lines and throw RuntimeException on a failure that must
 * abort the installation.
 */
class Modules_MailLog_Installer
{
    const LOGS = ['/var/log/maillog', '/var/log/mail.log'];  /* RHEL-like, Debian-like */
    const GEOIP = ['/usr/share/GeoIP/GeoLite2-Country.mmdb', '/var/lib/GeoIP/GeoLite2-Country.mmdb'];
    const PASSWORD_COMMAND = '/usr/sbin/plesk bin mail --update {mailbox} -passwd ""';

    /**
     * maillog.ini for a var dir (with trailing slash). Log: the first of
     * LOGS that exists — where a server has both, they are copies of one
     * stream and reading both would count every mail twice. When none
     * exists yet, no `log =` line: `maillog` then takes the first of the
     * same two that exists at each run (configured logs must all exist).
     */
    public static function configText($varDir, array $existingLogs, $geoip)
    {
        $logs = $existingLogs ? [reset($existingLogs)] : [];
        $lines = [
            '; Mail log deployment settings, written at installation; an upgrade keeps this file.',
            '; Admin settings (retention, ignore terms, visibility, …) live in the database.',
            '[maillog]',
            'db = ' . $varDir . 'maillog.db',
            'domains = ' . $varDir . 'domains.json',
            'geoip = ' . $geoip,
        ];
        foreach ($logs as $log) {
            $lines[] = 'log = ' . $log;
        }
        if (!$logs) {
            $lines[] = '; log = (unset: the first of ' . implode(', ', self::LOGS) . ' that exists)';
        }
        $lines[] = '';
        $lines[] = '[password]';
        $lines[] = 'command = ' . self::PASSWORD_COMMAND;
        return implode("\n", $lines) . "\n";
    }

    public static function install()
    {
        $log = [];
        $var = Modules_MailLog_Sbin::varDir();
        if (!is_dir($var) && !mkdir($var, 0750, true)) {
            throw new RuntimeException("cannot create $var");
        }
        $ini = Modules_MailLog_Sbin::configFile();
        if (!file_exists($ini)) {
            $geoip = $var . 'country.mmdb';
            $bundled = rtrim(pm_Context::getPlibDir(), '/') . '/resources/country.mmdb';
            foreach (array_merge(self::GEOIP, [$bundled]) as $g) {
                if (is_file($g)) {
                    $geoip = $g;
                    break;
                }
            }
            $text = self::configText($var, array_values(array_filter(self::LOGS, 'file_exists')), $geoip);
            $old = umask(077); /* created private, then kept so */
            $ok = file_put_contents($ini, $text);
            umask($old);
            if ($ok === false) {
                throw new RuntimeException("cannot write $ini");
            }
            chmod($ini, 0600);
            $log[] = "wrote $ini";
        }
        Modules_MailLog_DomainsFile::write(Modules_MailLog_Sbin::domainsFile(),
            Modules_MailLog_DomainsFile::entries(pm_Domain::getAllDomains()));
        $r = Modules_MailLog_Sbin::maillog('settings', ['--get']);
        if ($r['code'] !== 0) {
            throw new RuntimeException('maillog could not open its database: ' . trim($r['stderr']));
        }
        $log[] = 'database ready';
        return array_merge($log, Modules_MailLog_Tasks::ensure(pm_Scheduler::getInstance()));
    }

    public static function uninstall()
    {
        return Modules_MailLog_Tasks::remove(pm_Scheduler::getInstance());
    }
}
