<?php
/**
 * DomainsFile.php — the hosted-domains file the C side classifies mail with
 * (DESIGN.md §4): one JSON array of {name, owner_email, client, reseller,
 * sysuser_uid, main} objects, written from Plesk's domain list by the
 * scheduled tasks.
 *
 *  - name: the ASCII (punycode) domain name, lower case — every domain, and
 *    every domain alias with mail service (same owner as its domain);
 *  - owner_email: the e-mail of the domain's owner in Plesk (alerts go there);
 *  - client: the owner's login;
 *  - reseller: the reseller who owns that customer (or the owner itself when
 *    it is a reseller), "" for the administrator's own customers;
 *  - sysuser_uid: the user id of the subscription's system user, whose web
 *    site's mail (sendmail, PHP's mail()) Postfix logs with that uid= (the C
 *    side files such mail under this domain); null for a domain without web
 *    hosting or a user not in the passwd file;
 *  - main: whether this is a subscription's main domain (its web site's mail
 *    sent as the bare system user goes there rather than to an add-on
 *    domain or an alias).
 * The file is replaced atomically (temporary file + rename), mode 0600.
 */
class Modules_MailLog_DomainsFile
{
    /** Where the system users are (Plesk creates them as local users). */
    public static $passwdFile = '/etc/passwd';

    /**
     * @param pm_Domain[] $domains
     * @return array[] entries sorted by name
     */
    public static function entries(array $domains)
    {
        $resellerOf = [];   /* client id → reseller login, one lookup per owner */
        $uids = self::systemUserIds();
        $out = [];
        foreach ($domains as $domain) {
            $owner = $domain->getClient();
            $id = (int)$owner->getId();
            if (!array_key_exists($id, $resellerOf)) {
                $resellerOf[$id] = self::resellerLogin($owner);
            }
            $sysuser = self::sysUserLogin($domain);
            $own = strtolower((string)$domain->getName());
            $isMain = (int)$domain->getProperty('webspace_id') === 0;
            foreach (Modules_MailLog_Identity::mailNames($domain) as $n) {
                $n = strtolower((string)$n);
                if ($n !== '' && !isset($out[$n])) {
                    $out[$n] = [
                        'name' => $n,
                        'owner_email' => (string)$owner->getProperty('email'),
                        'client' => (string)$owner->getLogin(),
                        'reseller' => $resellerOf[$id],
                        'sysuser_uid' => isset($uids[$sysuser]) ? $uids[$sysuser] : null,
                        'main' => $isMain && $n === $own,
                    ];
                }
            }
        }
        ksort($out, SORT_STRING);
        return array_values($out);
    }

    /** The login of the domain's webspace system user, "" without web hosting. */
    private static function sysUserLogin($domain)
    {
        try {
            return (string)$domain->getSysUserLogin();
        } catch (Exception $e) {
            return '';
        }
    }

    /**
     * login => uid of the passwd file's users, root (0) left out: read once
     * for all domains. An unreadable file gives none (mail is then filed by
     * its envelope sender, as before).
     */
    private static function systemUserIds()
    {
        $out = [];
        $lines = @file(self::$passwdFile, FILE_IGNORE_NEW_LINES);
        foreach ($lines === false ? [] : $lines as $line) {
            $f = explode(':', $line);
            if (count($f) >= 3 && $f[0] !== '' && ctype_digit($f[2]) && (int)$f[2] > 0
                && (int)$f[2] <= 0x7fffffff && !isset($out[$f[0]])) {
                $out[$f[0]] = (int)$f[2];
            }
        }
        return $out;
    }

    /** @param pm_Client $owner */
    private static function resellerLogin($owner)
    {
        if ($owner->isReseller()) {
            return (string)$owner->getLogin();
        }
        if ($owner->isAdmin()) {
            return '';
        }
        $parentId = (int)$owner->getProperty('parent_id');
        if ($parentId <= 0 || $parentId === (int)$owner->getId()) {
            return '';
        }
        try {
            $parent = pm_Client::getByClientId($parentId);
        } catch (Exception $e) {
            return '';
        }
        return $parent->isReseller() ? (string)$parent->getLogin() : '';
    }

    /** Writes entries as JSON to $path atomically. Throws on failure. */
    public static function write($path, array $entries)
    {
        $json = json_encode($entries, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($json === false) {
            throw new RuntimeException('domains file: ' . json_last_error_msg());
        }
        $tmp = $path . '.tmp' . getmypid();
        /* owners' addresses: never readable by others, not even for a moment */
        $old = umask(077);
        $ok = file_put_contents($tmp, $json . "\n");
        umask($old);
        if ($ok === false) {
            throw new RuntimeException("domains file: cannot write $tmp");
        }
        chmod($tmp, 0600);
        if (!rename($tmp, $path)) {
            @unlink($tmp);
            throw new RuntimeException("domains file: cannot rename $tmp to $path");
        }
    }
}
