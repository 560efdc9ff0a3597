<?php
/*
 * alerts.php — scheduled hourly at minute 9: refresh the domains file, then
 * `maillog alerts`. See Modules_MailLog_Cron.
 */
pm_Context::init('mail-log');
exit(Modules_MailLog_Cron::run('alerts'));
