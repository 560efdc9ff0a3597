<?php
/*
 * index.php — the extension's single entry point under /modules/mail-log/:
 * Plesk's application front controller dispatches to plib/controllers
 * (IndexController: the pages; ApiController: /index.php/api/… → maillog.cgi).
 */
$application = new pm_Application();
$application->run();
