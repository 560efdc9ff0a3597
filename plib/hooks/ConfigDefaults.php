<?php
/*
 * ConfigDefaults.php — defaults of the panel.ini section [ext-mail-log]:
 * MaxLines, the most raw log lines the admin's log view may show (0 hides it).
 */
class Modules_MailLog_ConfigDefaults extends pm_Hook_ConfigDefaults
{
    public function getDefaults()
    {
        return ['MaxLines' => Modules_MailLog_Bridge::DEFAULT_MAX_LINES];
    }
}
