// main.jsx — entry point of the bundle: mounts the app into
// <div id="maillog-root" data-api-base data-mode data-view data-domain>.
//   data-api-base  the API prefix (standalone /cgi-bin/maillog.cgi,
//                  Plesk /modules/mail-log/index.php/api); calls go to {base}/v1/…
//   data-mode      plesk | standalone
//   data-view      subscription | admin
//   data-domain    optional preselected domain
import { createRoot } from 'react-dom/client';
import '@plesk/ui-library/dist/plesk-ui-library.css';
import './app.css';
import App from './App.jsx';

function mount() {
    const el = document.getElementById('maillog-root');
    if (!el) return;
    const d = el.dataset;
    createRoot(el).render(
        <App
            apiBase={d.apiBase || '/cgi-bin/maillog.cgi'}
            mode={d.mode === 'plesk' ? 'plesk' : 'standalone'}
            view={d.view === 'admin' ? 'admin' : 'subscription'}
            domain={d.domain || ''}
        />,
    );
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
else mount();
