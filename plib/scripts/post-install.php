<?php
/*
 * post-install.php — run by Plesk after installing or upgrading the extension
 * ($argv[1] is "upgrade" then). See Modules_MailLog_Installer::install().
 * A non-zero exit reports the installation as failed.
 */
pm_Context::init('mail-log');
try {
    foreach (Modules_MailLog_Installer::install() as $line) {
        echo "mail-log: $line\n";
    }
    exit(0);
} catch (Exception $e) {
    fwrite(STDERR, 'mail-log: ' . $e->getMessage() . "\n");
    exit(1);
}
