// Dashboard: issuance per day (by protocol, by profile), statuses, expiring soon, pending
// requests, CRL and OCSP freshness per issuer, recent errors.
import { api } from '../api.js';
import { dayList, StackedBars } from '../charts.js';
import { Badge, daysUntil, fmtDate, html, Loading, Page, Table, useLoad } from '../ui.js';

const load = async () => {
  const [d, ocsp] = await Promise.all([
    api.get('/dashboard?days=14'),
    // OCSP is a protocol module: absent (404) or not readable, the dashboard shows the rest.
    api.get('/ocsp/issuers').catch(() => null),
  ]);
  return { d, ocsp };
};

export function Dashboard() {
  const state = useLoad(load);
  return html`<${Page} title="Dashboard">
    <${Loading} state=${state}>${({ d, ocsp }) => html`
      <div class="actions"><button type="button" onClick=${state.reload}>Refresh</button> <span class="muted">as of ${fmtDate(d.generatedAt)}</span></div>
      <div class="stats" role="group" aria-label="Certificates by status">
        ${[['total', 'certificates'], ['valid', 'valid'], ['revoked', 'revoked'], ['hold', 'suspended'], ['expired', 'expired']].map(
          ([k, l]) => html`<a class="stat" href=${k === 'total' ? '#/certificates' : `#/certificates?status=${k}`}><span class="n">${d.certificates[k]}</span><span class="l">${l}</span></a>`,
        )}
        <a class="stat" href="#/requests"><span class="n">${d.pending.total}</span><span class="l">pending requests</span></a>
        <a class="stat" href=${`#/certificates?expiresBefore=${encodeURIComponent(new Date(Date.now() + d.expiring.days * 86_400_000).toISOString())}&status=valid`}><span class="n">${d.expiring.total}</span><span class="l">expire in ${d.expiring.days} days</span></a>
      </div>
      <div class="grid">
        <${StackedBars} title="Issued per day, by protocol" days=${dayList(d.since, d.days)} rows=${d.issuance.map((r) => ({ day: r.day, key: r.protocol, count: r.count }))} />
        <${StackedBars} title="Issued per day, by profile" days=${dayList(d.since, d.days)} rows=${d.issuance.map((r) => ({ day: r.day, key: r.profile, count: r.count }))} />
      </div>
      <h2>Expiring within ${d.expiring.days} days</h2>
      <${Table} caption="Certificates expiring soon" empty="None." rows=${d.expiring.items} cols=${[
        { label: 'Subject', cell: (c) => html`<a href=${`#/certificates/${c.id}`}>${c.subject || '(empty subject)'}</a>` },
        { label: 'Profile', cell: (c) => c.profile },
        { label: 'Expires', cell: (c) => html`${fmtDate(c.notAfter)} <span class="muted">(${daysUntil(c.notAfter)} d)</span>` },
      ]} />
      <h2>Pending requests</h2>
      <${Table} caption="Pending requests" empty="No request waits for approval." rows=${d.pending.items} cols=${[
        { label: 'Subject', cell: (r) => r.subject },
        { label: 'Profile', cell: (r) => r.profile },
        { label: 'Protocol', cell: (r) => r.protocol },
        { label: 'Since', cell: (r) => fmtDate(r.createdAt) },
      ]} />
      ${d.pending.total > 0 && html`<p><a href="#/requests">Review pending requests</a></p>`}
      <h2>CRL freshness</h2>
      <${Table} caption="CRL freshness per issuer" rows=${d.crls} cols=${[
        { label: 'Issuer', cell: (c) => c.issuerId },
        { label: 'CRL', cell: (c) => (c.number == null ? '—' : `#${c.number}`) },
        { label: 'This update', cell: (c) => fmtDate(c.thisUpdate) },
        { label: 'Next update', cell: (c) => fmtDate(c.nextUpdate) },
        { label: 'State', cell: (c) => html`<${Badge} value=${c.stale ? 'stale' : 'fresh'} />` },
      ]} />
      <h2>OCSP</h2>
      ${ocsp ? html`<${Table} caption="OCSP per issuer" rows=${ocsp.issuers} cols=${[
        { label: 'Issuer', cell: (o) => o.issuerId },
        { label: 'Signed by', cell: (o) => o.signedBy },
        { label: 'Response validity', cell: (o) => (o.settings?.validitySeconds ? `${Math.round(o.settings.validitySeconds / 3600)} h` : '—') },
        { label: 'Responder until', cell: (o) => (o.activeResponder ? html`${fmtDate(o.activeResponder.notAfter)} <span class="muted">(${daysUntil(o.activeResponder.notAfter)} d)</span>` : '—') },
        { label: 'Cached', cell: (o) => o.cachedResponses },
      ]} />` : html`<p class="muted">The OCSP responder is not mounted, or your role cannot read it.</p>`}
      <h2>Recent errors</h2>
      <${Table} caption="Refused issuances since start" empty="No refused issuance since this instance started." rows=${d.errors.issuance} cols=${[
        { label: 'Protocol', cell: (e) => e.protocol },
        { label: 'Profile', cell: (e) => e.profile },
        { label: 'Reason', cell: (e) => html`<${Badge} value="failure" label=${e.result} />` },
        { label: 'Count', cell: (e) => e.count },
      ]} />
      <${Table} caption="Failed actions" empty="No failed action in the audit log." rows=${d.errors.audit} cols=${[
        { label: 'When', cell: (a) => fmtDate(a.at) },
        { label: 'Action', cell: (a) => a.action },
        { label: 'Actor', cell: (a) => a.actor },
        { label: 'Target', cell: (a) => a.target ?? '' },
      ]} />
      ${d.errors.rejectedRequests.length > 0 && html`<${Table} caption="Rejected requests" rows=${d.errors.rejectedRequests} cols=${[
        { label: 'Rejected', cell: (r) => fmtDate(r.decidedAt) },
        { label: 'Subject', cell: (r) => r.subject },
        { label: 'Reason', cell: (r) => r.reason ?? '' },
        { label: 'By', cell: (r) => r.decidedBy ?? '' },
      ]} />`}
    `}<//>
  <//>`;
}
