<?php
/*
 * CustomButtons.php — where Mail log appears in Plesk:
 *  - a "Mail log" icon on each subscription's page (PLACE_DOMAIN_PROPERTIES,
 *    with the domain in the context parameters), hidden from resellers or
 *    clients when the admin says so (`maillog settings --get`);
 *  - an entry in Tools & Settings > Mail for the administrator.
 * The extension's own "Open" button (Extensions) leads to the admin page.
 */
class Modules_MailLog_CustomButtons extends pm_Hook_CustomButtons
{
    /** @var array|null|false cached settings for this request (false: not read yet) */
    private $settings = false;

    public function getButtons()
    {
        $icon = pm_Context::getBaseUrl() . 'icons/32x32.png';
        return [
            [
                'place' => self::PLACE_DOMAIN_PROPERTIES,
                'title' => 'Mail log',
                'description' => 'Received, sent and failed mail and mailbox logins of this subscription',
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('index', 'domain'),
                'contextParams' => true,
                'visibility' => [$this, 'isVisible'],
            ],
            [
                'place' => self::PLACE_ADMIN_TOOLS_AND_SETTINGS,
                'section' => self::SECTION_ADMIN_TOOLS_MAIL,
                'title' => 'Mail log',
                'description' => 'Every mail and mailbox login on the server, and the login alerts',
                'icon' => $icon,
                'link' => pm_Context::getActionUrl('index', 'index'),
            ],
        ];
    }

    public function isVisible($options = [])
    {
        $client = pm_Session::getClient();
        $role = $client->isAdmin() ? 'admin' : ($client->isReseller() ? 'reseller' : 'client');
        if ($role === 'admin') {
            return true;
        }
        if ($this->settings === false) {
            $this->settings = Modules_MailLog_Sbin::globalSettings();
        }
        return Modules_MailLog_Bridge::visibleTo($role, $this->settings);
    }
}
