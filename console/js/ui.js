// Shared building blocks: htm bound to preact, the page frame, tables, dialogs, formatting.
import { h } from 'preact';
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export function fmtDate(v) {
  if (!v) return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
}

export function daysUntil(v) {
  return Math.round((new Date(v).getTime() - Date.now()) / 86_400_000);
}

export const Badge = ({ value, label }) => html`<span class=${`badge ${value}`}>${label ?? value}</span>`;

/** Status of a certificate row as shown: an expired valid certificate reads "expired". */
export const certStatus = (c) => (c.status === 'valid' && c.expired ? 'expired' : c.status);

/** A page: its title gets focus on arrival so screen readers announce the new page. */
export function Page({ title, children }) {
  const ref = useRef(null);
  useEffect(() => {
    document.title = `${title} · Certgate console`;
    ref.current && ref.current.focus();
  }, [title]);
  return html`<section aria-labelledby="page-title"><h1 id="page-title" tabindex="-1" ref=${ref}>${title}</h1>${children}</section>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message || String(error)}</p>`;
}

/** Loads once (and again when `deps` change or reload() is called): { data, error, loading, reload }. */
export function useLoad(fn, deps = []) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => { live = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function Loading({ state, children }) {
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (state.data === undefined) return html`<p class="muted" aria-live="polite">Loading…</p>`;
  return children(state.data);
}

/** A table of `rows` with `cols` = [{ label, cell(row), mono?, wide? (hidden on a phone) }]. */
export function Table({ cols, rows, caption, empty = 'Nothing here.' }) {
  if (!rows.length) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table>
    ${caption && html`<caption class="visually-hidden">${caption}</caption>`}
    <thead><tr>${cols.map((c) => html`<th scope="col" class=${c.wide ? 'wide' : ''}>${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${cols.map((c) => html`<td class=${[c.mono && 'mono', c.wide && 'wide'].filter(Boolean).join(' ')}>${c.cell(r)}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

/**
 * A button that asks first (`ariaLabel` names its object when several such buttons share a page): a modal <dialog> (focus moves into it, Escape cancels) with optional
 * extra fields; `onConfirm(form values)` runs only after the operator confirms.
 */
let dialogSeq = 0;

export function ConfirmButton({ label, title, message, confirmLabel, danger, onConfirm, fields, className, ariaLabel }) {
  const dlg = useRef(null);
  const id = useRef(`dlg-${++dialogSeq}`).current;
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const open = () => { setError(undefined); dlg.current.showModal(); };
  const submit = async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(e.target).entries());
    setBusy(true);
    try {
      await onConfirm(values);
      dlg.current.close();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" class=${className ?? (danger ? 'danger' : '')} aria-label=${ariaLabel} aria-haspopup="dialog" onClick=${open}>${label}</button>
    <dialog ref=${dlg} aria-labelledby=${id}>
      <form method="dialog" onSubmit=${submit}>
        <h2 id=${id}>${title ?? label}</h2>
        <p>${message}</p>
        ${fields}
        <${ErrorBox} error=${error} />
        <div class="actions">
          <button type="submit" class=${danger ? 'danger primary' : 'primary'} disabled=${busy}>${confirmLabel ?? label}</button>
          <button type="button" onClick=${() => dlg.current.close()}>Cancel</button>
        </div>
      </form>
    </dialog>`;
}

/** Shows a secret returned once (a token, an EAB key, a password) until dismissed. */
export function SecretBox({ title, value, onClose }) {
  if (!value) return null;
  return html`<div class="secret" role="status"><strong>${title}</strong> — shown once, copy it now:
    <pre class="mono">${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}</pre>
    <button type="button" onClick=${onClose}>Done</button></div>`;
}

export function useHashRoute() {
  const read = () => {
    const raw = location.hash.replace(/^#/, '') || '/dashboard';
    const [path, query = ''] = raw.split('?');
    return { path, params: Object.fromEntries(new URLSearchParams(query)) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export const go = (path) => { location.hash = path; };
