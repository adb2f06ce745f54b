// The audit trail, newest first, filtered by action, actor, target and time.
import { api, qs } from '../api.js';
import { Badge, fmtDate, html, Loading, Page, Table, useLoad } from '../ui.js';

export function Audit({ params }) {
  const q = { action: params.action ?? '', actor: params.actor ?? '', target: params.target ?? '', since: params.since ?? '', limit: params.limit ?? '200' };
  const state = useLoad(() => api.get(`/audit${qs(q)}`), [JSON.stringify(params)]);
  const search = (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target).entries());
    if (f.since) f.since = new Date(`${f.since}T00:00:00Z`).toISOString();
    location.hash = `/audit${qs(f)}`;
  };
  return html`<${Page} title="Audit log">
    <form class="search panel" role="search" onSubmit=${search} key=${JSON.stringify(q)}>
      <label>Action <input name="action" defaultValue=${q.action} placeholder="certificate.revoke" /></label>
      <label>Actor <input name="actor" defaultValue=${q.actor} placeholder="operator:alice" /></label>
      <label>Target <input name="target" defaultValue=${q.target} /></label>
      <label>Since <input type="date" name="since" defaultValue=${q.since.slice(0, 10)} /></label>
      <button class="primary" type="submit">Filter</button>
    </form>
    <${Loading} state=${state}>${(rows) => html`<${Table} caption="Audit events" empty="No event matches." rows=${rows} cols=${[
      { label: 'When', cell: (a) => fmtDate(a.at) },
      { label: 'Action', cell: (a) => a.action },
      { label: 'Actor', cell: (a) => a.actor },
      { label: 'Target', mono: true, cell: (a) => a.target ?? '' },
      { label: 'Outcome', cell: (a) => html`<${Badge} value=${a.outcome} />` },
      { label: 'Details', mono: true, wide: true, cell: (a) => (Object.keys(a.details ?? {}).length ? JSON.stringify(a.details) : '') },
    ]} />`}<//>
  <//>`;
}
