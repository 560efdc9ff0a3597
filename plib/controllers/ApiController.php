<?php
/*
 * ApiController.php — /modules/mail-log/index.php/api/<route> → maillog.cgi.
 * Every route of docs/API.md starts with /v1, so Zend dispatches them all to
 * v1Action (anything else reaches __call). The work is in
 * Modules_MailLog_Api::handle(); this only copies the request in and the
 * status, headers and body out, with Plesk's layout and view turned off.
 */
class ApiController extends pm_Controller_Action
{
    /* Plesk lets only the administrator into extension pages unless told
     * otherwise; who sees what is decided per request below. */
    protected $_accessLevel = ['admin', 'reseller', 'client'];

    public function init()
    {
        parent::init();
        $this->_helper->layout()->disableLayout();
        $this->_helper->viewRenderer->setNoRender(true);
    }

    public function v1Action()
    {
        $this->relay();
    }

    public function __call($method, $args)
    {
        if (substr($method, -6) === 'Action') {
            $this->relay();
            return;
        }
        parent::__call($method, $args);
    }

    private function relay()
    {
        $request = $this->getRequest();
        $body = $request->getRawBody();
        $answer = Modules_MailLog_Api::handle([
            'method' => $request->getMethod(),
            'uri' => $request->getRequestUri(),
            'query' => isset($_SERVER['QUERY_STRING']) ? $_SERVER['QUERY_STRING'] : '',
            /* CGI servers give it as CONTENT_TYPE, not HTTP_CONTENT_TYPE,
             * so Zend's getHeader() would not find it. */
            'content_type' => isset($_SERVER['CONTENT_TYPE']) ? $_SERVER['CONTENT_TYPE'] : '',
            'body' => $body === false ? '' : $body,
            'token' => (string)$request->getHeader('X-Forgery-Protection-Token'),
            'origin' => (string)$request->getHeader('Origin'),
            'referer' => (string)$request->getHeader('Referer'),
            'host' => (string)$request->getHttpHost(),
        ]);
        $response = $this->getResponse();
        $response->setHttpResponseCode($answer['status']);
        foreach ($answer['headers'] as $name => $value) {
            $response->setHeader($name, $value, true);
        }
        $response->setBody($answer['body']);
    }
}
