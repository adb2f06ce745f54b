// Certificate inventory: search by subject, SAN, serial, status, profile, issuer and expiry.
import { api, qs } from '../api.js';
import { Badge, certStatus, fmtDate, html, Loading, Page, Table, useLoad } from '../ui.js';

const PAGE = 25;
const fields = ['subject', 'san', 'serial', 'status', 'profile', 'issuer', 'expiresAfter', 'expiresBefore'];

export function Certificates({ params }) {
  const offset = Number(params.offset ?? 0) || 0;
  const query = Object.fromEntries(fields.map((f) => [f, params[f] ?? '']));
  const state = useLoad(() => api.get(`/certificates${qs({ ...query, limit: PAGE, offset })}`), [JSON.stringify(params)]);
  const search = (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target).entries());
    for (const k of ['expiresAfter', 'expiresBefore']) if (f[k]) f[k] = new Date(`${f[k]}T00:00:00Z`).toISOString();
    location.hash = `/certificates${qs(f)}`;
  };
  const dateOnly = (v) => (v ? v.slice(0, 10) : '');
  const pageLink = (o) => `#/certificates${qs({ ...query, offset: o })}`;
  return html`<${Page} title="Certificates">
    <form class="search panel" role="search" onSubmit=${search} key=${JSON.stringify(query)}>
      <label>Subject <input name="subject" defaultValue=${query.subject} placeholder="CN=www" /></label>
      <label>SAN <input name="san" defaultValue=${query.san} placeholder="dns:www.example.com" /></label>
      <label>Serial <input name="serial" defaultValue=${query.serial} class="mono" /></label>
      <label>Status <select name="status">
        ${['', 'valid', 'revoked', 'hold', 'expired'].map((s) => html`<option value=${s} selected=${s === query.status}>${s || 'any'}</option>`)}
      </select></label>
      <label>Profile <input name="profile" defaultValue=${query.profile} /></label>
      <label>Issuer <input name="issuer" defaultValue=${query.issuer} /></label>
      <label>Expires after <input type="date" name="expiresAfter" defaultValue=${dateOnly(query.expiresAfter)} /></label>
      <label>Expires before <input type="date" name="expiresBefore" defaultValue=${dateOnly(query.expiresBefore)} /></label>
      <button class="primary" type="submit">Search</button>
    </form>
    <${Loading} state=${state}>${(r) => html`
      <p class="muted" aria-live="polite">${r.total} certificate${r.total === 1 ? '' : 's'}${r.total > PAGE ? `, ${offset + 1}–${Math.min(offset + PAGE, r.total)} shown` : ''}</p>
      <${Table} caption="Certificates found" empty="No certificate matches." rows=${r.items} cols=${[
        { label: 'Subject', cell: (c) => html`<a href=${`#/certificates/${c.id}`}>${c.subject || '(empty subject)'}</a>` },
        { label: 'SANs', wide: true, cell: (c) => c.sans.slice(0, 3).join(', ') + (c.sans.length > 3 ? ` +${c.sans.length - 3}` : '') },
        { label: 'Serial', mono: true, wide: true, cell: (c) => c.serial },
        { label: 'Profile', cell: (c) => c.profile },
        { label: 'Expires', cell: (c) => fmtDate(c.notAfter) },
        { label: 'Status', cell: (c) => html`<${Badge} value=${certStatus(c)} />` },
      ]} />
      <nav class="actions" aria-label="Pages">
        ${offset > 0 && html`<a class="button" href=${pageLink(Math.max(0, offset - PAGE))}>Previous</a>`}
        ${offset + PAGE < r.total && html`<a class="button" href=${pageLink(offset + PAGE)}>Next</a>`}
      </nav>`}<//>
  <//>`;
}
