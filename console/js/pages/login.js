// Sign in with a username and password (a short session token) or a bearer token from
// `certgate token create`. Either way the token stays in memory only.
import { useState } from 'preact/hooks';
import { signInWithPassword, signInWithToken } from '../api.js';
import { ErrorBox, html, Page } from '../ui.js';

export function Login() {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const attempt = (fn) => async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target).entries());
    setBusy(true);
    setError(undefined);
    try {
      await fn(f);
    } catch (err) {
      setError(err.status === 401 ? new Error(err.message || 'not signed in') : err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login" id="main">
    <${Page} title="Sign in to Certgate">
      <${ErrorBox} error=${error} />
      <form class="panel" onSubmit=${attempt((f) => signInWithPassword(f.username, f.password))} aria-label="Sign in with a password">
        <label>Username <input name="username" autocomplete="username" required /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        <button class="primary" type="submit" disabled=${busy}>Sign in</button>
      </form>
      <p class="or">or</p>
      <form class="panel" onSubmit=${attempt((f) => signInWithToken(f.token))} aria-label="Sign in with a token">
        <label>Operator token <input name="token" type="password" autocomplete="off" required /></label>
        <button type="submit" disabled=${busy}>Sign in with token</button>
        <p class="muted">Make one with <code>certgate token create --role auditor</code>. The console keeps it in memory only: reloading the page signs you out.</p>
      </form>
    <//>
  </main>`;
}
