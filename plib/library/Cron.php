<?php
/**
 * Cron.php — the body of the scheduled tasks (plib/scripts/ingest.php and
 * alerts.php): refresh the domains file from Plesk, then run the C command.
 *
 *  - ingest: `maillog ingest` (which also applies the retention);
 *  - alerts: `maillog alerts`.
 * One run at a time per task (a non-blocking flock on VAR/<task>.lock): a
 * run that finds the previous one still going exits 0 and leaves it alone.
 * Returns the exit code for the script; the programs' output is passed on.
 */
class Modules_MailLog_Cron
{
    public static function run($task)
    {
        $steps = ['ingest' => ['ingest'], 'alerts' => ['alerts']];
        if (!isset($steps[$task])) {
            fwrite(STDERR, "mail-log: unknown task '$task'\n");
            return 2;
        }
        $lock = fopen(Modules_MailLog_Sbin::varDir() . $task . '.lock', 'c');
        if ($lock === false) {
            fwrite(STDERR, "mail-log: cannot open the $task lock file\n");
            return 1;
        }
        if (!flock($lock, LOCK_EX | LOCK_NB)) {
            fwrite(STDOUT, "mail-log: $task is still running, skipped\n");
            return 0;
        }
        try {
            Modules_MailLog_DomainsFile::write(Modules_MailLog_Sbin::domainsFile(),
                Modules_MailLog_DomainsFile::entries(pm_Domain::getAllDomains()));
        } catch (Exception $e) {
            /* A stale domains file is better than no ingest: go on. */
            fwrite(STDERR, 'mail-log: ' . $e->getMessage() . "\n");
        }
        $rc = 0;
        foreach ($steps[$task] as $cmd) {
            $r = Modules_MailLog_Sbin::maillog($cmd);
            fwrite(STDOUT, $r['stdout']);
            fwrite(STDERR, $r['stderr']);
            if ($r['code'] !== 0 && $rc === 0) {
                $rc = $r['code'];
            }
        }
        flock($lock, LOCK_UN);
        fclose($lock);
        return $rc;
    }
}
