<?php
/**
 * Identity.php — who is asking, from Plesk's session: the role and the names
 * of the domains that identity may access (DESIGN.md §1).
 *
 *  - admin: every domain (the list is not computed: the CGI treats the admin
 *    as unrestricted).
 *  - reseller: every domain the reseller may access — their customers' and
 *    their own subscriptions (pm_Client::hasAccessToDomain over all domains).
 *  - client: the domains of their own subscriptions (pm_Domain::getDomainsByClient).
 * Each domain brings its aliases that have mail service: mail to
 * user@alias.example is that domain's mail.
 * Returns ['role' => …, 'user' => login, 'domains' => [name, …]].
 */
class Modules_MailLog_Identity
{
    public static function current()
    {
        return self::of(pm_Session::getClient());
    }

    /** @param pm_Client $client */
    public static function of($client)
    {
        $user = (string)$client->getLogin();
        if ($client->isAdmin()) {
            return ['role' => 'admin', 'user' => $user, 'domains' => []];
        }
        $names = [];
        if ($client->isReseller()) {
            foreach (pm_Domain::getAllDomains() as $domain) {
                if ($client->hasAccessToDomain($domain->getId())) {
                    $names = array_merge($names, self::mailNames($domain));
                }
            }
            return ['role' => 'reseller', 'user' => $user, 'domains' => $names];
        }
        if ($client->isClient()) {
            foreach (pm_Domain::getDomainsByClient($client) as $domain) {
                $names = array_merge($names, self::mailNames($domain));
            }
            return ['role' => 'client', 'user' => $user, 'domains' => $names];
        }
        throw new pm_Exception('Mail log: unknown kind of Plesk user');
    }

    /** The domain's name and those of its aliases with mail service. */
    public static function mailNames($domain)
    {
        $names = [$domain->getName()];
        try {
            foreach (pm_DomainAlias::getByDomain($domain) as $alias) {
                if ($alias->hasServiceMail()) {
                    $names[] = $alias->getName();
                }
            }
        } catch (Exception $e) {
            /* no alias list: the domain alone */
        }
        return $names;
    }
}
