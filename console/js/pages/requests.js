// Requests held for manual approval: approve or reject (officers and administrators).
import { api, can } from '../api.js';
import { Badge, ConfirmButton, fmtDate, html, Loading, Page, Table, useLoad } from '../ui.js';

export function Requests({ params }) {
  const status = params.status ?? 'pending';
  const state = useLoad(() => api.get(`/requests?status=${encodeURIComponent(status)}`), [status]);
  const decide = (id, verb, body) => async () => { await api.post(`/requests/${id}/${verb}`, body); state.reload(); };
  return html`<${Page} title="Pending requests">
    <nav class="actions" aria-label="Request status">
      ${['pending', 'issued', 'rejected'].map((s) => html`<a class="button" href=${`#/requests?status=${s}`} aria-current=${s === status ? 'page' : undefined}>${s}</a>`)}
    </nav>
    <${Loading} state=${state}>${(rows) => html`<${Table} caption="Requests" empty=${`No ${status} request.`} rows=${rows} cols=${[
      { label: 'Subject', cell: (r) => r.subject },
      { label: 'Profile', cell: (r) => r.profile },
      { label: 'Requested by', cell: (r) => html`${r.principal} <span class="muted">(${r.protocol})</span>` },
      { label: 'Since', cell: (r) => fmtDate(r.createdAt) },
      { label: 'Status', cell: (r) => html`<${Badge} value=${r.status} />${r.reason ? html` <span class="muted">${r.reason}</span>` : ''}${r.certificateId ? html` <a href=${`#/certificates/${r.certificateId}`}>certificate</a>` : ''}` },
      ...(can('officer') && status === 'pending' ? [{ label: 'Decision', cell: (r) => html`<div class="row">
        <${ConfirmButton} label="Approve" ariaLabel=${`Approve ${r.subject}`} className="primary" message=${`Issue the certificate for ${r.subject} (${r.profile})?`} onConfirm=${decide(r.id, 'approve', {})} />
        <${ConfirmButton} label="Reject" ariaLabel=${`Reject ${r.subject}`} danger message=${`Reject the request for ${r.subject}?`}
          fields=${html`<label>Reason <input name="reason" maxlength="500" placeholder="rejected by an officer" /></label>`}
          onConfirm=${(v) => decide(r.id, 'reject', v.reason ? { reason: v.reason } : {})()} />
      </div>` }] : []),
    ]} />`}<//>
  <//>`;
}
