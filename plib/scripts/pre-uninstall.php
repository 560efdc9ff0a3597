<?php
/*
 * pre-uninstall.php — run by Plesk before removing the extension: removes
 * the scheduled tasks. The var dir (database, config) goes with the extension.
 */
pm_Context::init('mail-log');
try {
    foreach (Modules_MailLog_Installer::uninstall() as $line) {
        echo "mail-log: $line\n";
    }
    exit(0);
} catch (Exception $e) {
    fwrite(STDERR, 'mail-log: ' . $e->getMessage() . "\n");
    exit(1);
}
