<?php
/*
 * zend_doubles.php — the slice of Zend Framework 1 (under pm_Controller_Action)
 * that plib/controllers use, with ZF1's documented behaviour where it
 * matters: Request::getHeader() reads only HTTP_* server variables (so
 * CONTENT_TYPE is not a header), getRawBody() is false for an empty body,
 * an undefined action method goes to __call(), render('x') renders
 * views/scripts/<controller>/x.phtml. Used by test_controllers.php.
 */

class Doubles_Request
{
    public static $body = '';

    public function getMethod() { return $_SERVER['REQUEST_METHOD']; }
    public function getRequestUri() { return $_SERVER['REQUEST_URI']; }
    public function getHttpHost() { return isset($_SERVER['HTTP_HOST']) ? $_SERVER['HTTP_HOST'] : ''; }
    public function getRawBody() { return self::$body === '' ? false : self::$body; }

    public function getHeader($name)
    {
        $key = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
        return isset($_SERVER[$key]) ? $_SERVER[$key] : false;
    }

    public function getParam($name, $default = null)
    {
        return isset($_GET[$name]) ? $_GET[$name] : $default;
    }
}

class Doubles_Response
{
    public $code = 200, $headers = [], $body = '';

    public function setHttpResponseCode($code) { $this->code = $code; return $this; }
    public function setBody($body) { $this->body = $body; return $this; }

    public function setHeader($name, $value, $replace = false)
    {
        $this->headers[] = [$name, $value, $replace];
        return $this;
    }
}

class Doubles_View
{
    private $vars = [];
    public $rendered = null;

    public function __set($k, $v) { $this->vars[$k] = $v; }
    public function __get($k) { return isset($this->vars[$k]) ? $this->vars[$k] : null; }
    public function __isset($k) { return isset($this->vars[$k]); }
    public function escape($s) { return htmlspecialchars((string)$s, ENT_COMPAT, 'UTF-8'); }

    public function render($script)
    {
        ob_start();
        include dirname(__DIR__, 2) . '/plib/views/scripts/' . $script;
        return ob_get_clean();
    }
}

class Doubles_Layout
{
    public $enabled = true;
    public function disableLayout() { $this->enabled = false; }
}

class Doubles_ViewRenderer
{
    public $noRender = false;
    public function setNoRender($flag = true) { $this->noRender = $flag; }
}

class Doubles_Helpers
{
    public $viewRenderer, $layoutObject;

    public function __construct()
    {
        $this->viewRenderer = new Doubles_ViewRenderer();
        $this->layoutObject = new Doubles_Layout();
    }

    public function layout() { return $this->layoutObject; }
}

abstract class pm_Controller_Action
{
    protected $_request, $_response, $_helper, $_accessLevel = [];
    public $view;
    private $controllerName;

    public function __construct($controllerName)
    {
        $this->controllerName = $controllerName;
        $this->_request = new Doubles_Request();
        $this->_response = new Doubles_Response();
        $this->_helper = new Doubles_Helpers();
        $this->view = new Doubles_View();
        $this->init();
    }

    public function init() { }
    public function getRequest() { return $this->_request; }
    public function getResponse() { return $this->_response; }
    public function helpers() { return $this->_helper; }

    public function render($action)
    {
        $this->view->rendered = $this->view->render($this->controllerName . '/' . $action . '.phtml');
        $this->_helper->viewRenderer->setNoRender(true);
    }

    public function __call($method, $args)
    {
        throw new BadMethodCallException("Action \"$method\" does not exist");
    }

    /** What the front controller does: call <action>Action, or __call. */
    public function dispatch($action)
    {
        $method = $action . 'Action';
        if (method_exists($this, $method)) {
            $this->$method();
        } else {
            $this->__call($method, []);
        }
    }
}
