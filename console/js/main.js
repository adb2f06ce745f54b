// The console's shell: sign-in, navigation, and the page for the current #/route.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, onSessionChange, signOut } from './api.js';
import { html, useHashRoute } from './ui.js';
import { Login } from './pages/login.js';
import { Dashboard } from './pages/dashboard.js';
import { Certificates } from './pages/certificates.js';
import { CertificateDetail } from './pages/certificate.js';
import { Requests } from './pages/requests.js';
import { Issuers } from './pages/issuers.js';
import { Profiles } from './pages/profiles.js';
import { Clients } from './pages/clients.js';
import { Operators } from './pages/operators.js';
import { Audit } from './pages/audit.js';

const pages = [
  { path: '/dashboard', label: 'Dashboard', view: Dashboard },
  { path: '/certificates', label: 'Certificates', view: Certificates },
  { path: '/requests', label: 'Pending requests', view: Requests },
  { path: '/issuers', label: 'Issuers & CRLs', view: Issuers },
  { path: '/profiles', label: 'Profiles', view: Profiles },
  { path: '/clients', label: 'Protocol clients', view: Clients },
  { path: '/operators', label: 'Operators & tokens', view: Operators },
  { path: '/audit', label: 'Audit log', view: Audit },
];

function App() {
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionChange(setSession), []);
  const route = useHashRoute();
  if (!session) return html`<${Login} />`;

  let view;
  const detail = /^\/certificates\/([^/]+)$/.exec(route.path);
  if (detail) view = html`<${CertificateDetail} id=${decodeURIComponent(detail[1])} params=${route.params} />`;
  else {
    const page = pages.find((p) => p.path === route.path) ?? pages[0];
    view = html`<${page.view} params=${route.params} />`;
  }
  const section = '/' + route.path.split('/')[1];
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">Certgate console</span>
      <span class="who"><span>${session.name} · <strong data-role=${session.role}>${session.role}</strong></span>
        <button type="button" onClick=${() => { signOut(); location.hash = '/dashboard'; }}>Sign out</button></span>
    </header>
    <nav class="side" aria-label="Console sections"><ul>
      ${pages.map((p) => html`<li><a href=${`#${p.path}`} aria-current=${section === p.path ? 'page' : undefined}>${p.label}</a></li>`)}
    </ul></nav>
    <main id="main" tabindex="-1">${view}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
