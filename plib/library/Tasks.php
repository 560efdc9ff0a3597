<?php
/**
 * Tasks.php — the extension's scheduled tasks in pm_Scheduler:
 *   ingest.php  every 5 minutes  (read new log lines into the database)
 *   alerts.php  hourly at :09    (the hourly reports; the manual's example
 *                                 mails "warnings at 10:09")
 * ensure() makes the scheduler hold exactly one task per script with that
 * schedule — creating missing ones, fixing a changed schedule, removing
 * duplicates — so an upgrade that runs post-install again adds nothing.
 * remove() deletes ours (pre-uninstall). Both return what they did, one
 * line per change, for the install log.
 */
class Modules_MailLog_Tasks
{
    public static function wanted()
    {
        $every = ['hour' => '*', 'dom' => '*', 'month' => '*', 'dow' => '*'];
        return [
            'ingest.php' => ['minute' => '*/5'] + $every,
            'alerts.php' => ['minute' => '9'] + $every,
        ];
    }

    /** @param pm_Scheduler $scheduler */
    public static function ensure($scheduler)
    {
        $done = [];
        $byCmd = [];
        foreach ($scheduler->listTasks() as $task) {
            $byCmd[$task->getCmd()][] = $task;
        }
        foreach (self::wanted() as $cmd => $schedule) {
            $tasks = isset($byCmd[$cmd]) ? $byCmd[$cmd] : [];
            $keep = array_shift($tasks);
            foreach ($tasks as $extra) {
                $scheduler->removeTask($extra);
                $done[] = "removed duplicate $cmd";
            }
            if ($keep === null) {
                $keep = new pm_Scheduler_Task();
                $keep->setCmd($cmd);
                $keep->setSchedule($schedule);
                $scheduler->putTask($keep);
                $done[] = "added $cmd";
            } elseif (!self::sameSchedule($keep->getSchedule(), $schedule)) {
                $keep->setSchedule($schedule);
                $scheduler->putTask($keep);
                $done[] = "rescheduled $cmd";
            }
        }
        return $done;
    }

    /** @param pm_Scheduler $scheduler */
    public static function remove($scheduler)
    {
        $done = [];
        $ours = self::wanted();
        foreach ($scheduler->listTasks() as $task) {
            if (isset($ours[$task->getCmd()])) {
                $scheduler->removeTask($task);
                $done[] = 'removed ' . $task->getCmd();
            }
        }
        return $done;
    }

    private static function sameSchedule($have, array $want)
    {
        if (!is_array($have)) {
            return false;
        }
        foreach ($want as $k => $v) {
            if (!isset($have[$k]) || (string)$have[$k] !== $v) {
                return false;
            }
        }
        return true;
    }
}
