<?php
/*
 * ingest.php — scheduled every 5 minutes: refresh the domains file, then
 * `maillog ingest`. See Modules_MailLog_Cron.
 */
pm_Context::init('mail-log');
exit(Modules_MailLog_Cron::run('ingest'));
