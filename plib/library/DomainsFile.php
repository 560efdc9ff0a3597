<?php
/**
 * DomainsFile.php — the hosted-domains file the C side classifies mail with
 * (DESIGN.md §4): one JSON array of {name, owner_email, client, reseller}
 * objects, written from Plesk's domain list by the scheduled tasks.
 *
 *  - name: the ASCII (punycode) domain name, lower case — every domain, and
 *    every domain alias with mail service (same owner as its domain);
 *  - owner_email: the e-mail of the domain's owner in Plesk (alerts go there);
 *  - client: the owner's login;
 *  - reseller: the reseller who owns that customer (or the owner itself when
 *    it is a reseller), "" for the administrator's own customers.
 * The file is replaced atomically (temporary file + rename), mode 0600.
 */
class Modules_MailLog_DomainsFile
{
    /**
     * @param pm_Domain[] $domains
     * @return array[] entries sorted by name
     */
    public static function entries(array $domains)
    {
        $resellerOf = [];   /* client id → reseller login, one lookup per owner */
        $out = [];
        foreach ($domains as $domain) {
            $owner = $domain->getClient();
            $id = (int)$owner->getId();
            if (!array_key_exists($id, $resellerOf)) {
                $resellerOf[$id] = self::resellerLogin($owner);
            }
            foreach (Modules_MailLog_Identity::mailNames($domain) as $n) {
                $n = strtolower((string)$n);
                if ($n !== '' && !isset($out[$n])) {
                    $out[$n] = [
                        'name' => $n,
                        'owner_email' => (string)$owner->getProperty('email'),
                        'client' => (string)$owner->getLogin(),
                        'reseller' => $resellerOf[$id],
                    ];
                }
            }
        }
        ksort($out, SORT_STRING);
        return array_values($out);
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
