<?php
/*
 * IndexController.php — the pages that mount the UI (htdocs/dist, built by
 * the UI) into Plesk's layout:
 *  - index:  Extensions > Mail log > Open. The admin's view over every
 *            domain; a reseller or client who opens it gets their domains.
 *  - domain: the "Mail log" icon of a subscription (site_id from the context
 *            parameters), for whoever may access that domain.
 * Which tabs and settings show is decided by the UI from GET /v1/me, which
 * the CGI answers from the identity the API bridge passes. A reseller or
 * client from whom the admin hid the extension gets a 403 page here.
 */
class IndexController extends pm_Controller_Action
{
    /* Plesk lets only the administrator into extension pages unless told
     * otherwise; who sees what is decided per request below. */
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    public function indexAction()
    {
        $who = Modules_MailLog_Identity::current();
        $this->mount($who['role'], $who['role'] === 'admin' ? 'admin' : 'subscription', '');
    }

    public function domainAction()
    {
        $request = $this->getRequest();
        $id = (int)$request->getParam('site_id', $request->getParam('dom_id', 0));
        $client = pm_Session::getClient();
        $role = $client->isAdmin() ? 'admin' : ($client->isReseller() ? 'reseller' : 'client');
        if ($id <= 0 || !$client->hasAccessToDomain($id)) {
            $this->refuse('This domain is not yours to see.');
            return;
        }
        $domain = new pm_Domain($id);
        $this->mount($role, 'subscription', $domain->getName());
    }

    private function mount($role, $view, $domain)
    {
        if (!Modules_MailLog_Bridge::visibleTo($role, $role === 'admin' ? null : Modules_MailLog_Sbin::globalSettings())) {
            $this->refuse('The administrator has not made Mail log available to your account.');
            return;
        }
        $base = pm_Context::getBaseUrl();
        $dist = pm_Context::getHtdocsDir() . 'dist/';
        $stamp = is_file($dist . 'main.js') ? (string)filemtime($dist . 'main.js') : '';
        $this->view->pageTitle = 'Mail log';
        $this->view->message = null;
        $this->view->bundle = $stamp !== '';
        $this->view->apiBase = $base . 'index.php/api';
        $this->view->uiView = $view;
        $this->view->domain = $domain;
        $this->view->jsUrl = $base . 'dist/main.js?v=' . $stamp;
        $this->view->cssUrl = $base . 'dist/main.css?v=' . $stamp;
        $this->render('index');
    }

    private function refuse($message)
    {
        $this->getResponse()->setHttpResponseCode(403);
        $this->view->pageTitle = 'Mail log';
        $this->view->message = $message;
        $this->render('index');
    }
}
