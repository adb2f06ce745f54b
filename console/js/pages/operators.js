// Operators and tokens (administrators): create, disable, set console passwords, make tokens.
import { useState } from 'preact/hooks';
import { api, can, currentSession } from '../api.js';
import { Badge, ConfirmButton, fmtDate, html, Loading, Page, SecretBox, Table, useLoad } from '../ui.js';

const ROLES = ['auditor', 'officer', 'administrator'];
const roleSelect = () => html`<label>Role <select name="role">${ROLES.map((r) => html`<option>${r}</option>`)}</select></label>`;

export function Operators() {
  if (!can('administrator')) {
    return html`<${Page} title="Operators & tokens"><p class="notice">Only administrators manage operators and tokens. You are signed in as ${currentSession().name} (${currentSession().role}).</p><//>`;
  }
  return html`<${OperatorsAdmin} />`;
}

function OperatorsAdmin() {
  const state = useLoad(() => api.get('/operators'));
  const [secret, setSecret] = useState(null);
  const me = currentSession().name;
  return html`<${Page} title="Operators & tokens">
    <${SecretBox} title=${secret?.title} value=${secret?.value} onClose=${() => setSecret(null)} />
    <div class="actions">
      <${ConfirmButton} label="New operator" message="Create an operator; then give it a password or a token."
        fields=${html`<label>Name <input name="name" required pattern="[A-Za-z0-9][A-Za-z0-9._@-]{0,127}" /></label>${roleSelect()}`}
        onConfirm=${async (v) => { await api.post('/operators', { name: v.name, role: v.role }); state.reload(); }} />
      <${ConfirmButton} label="New token" message="Make a bearer token for an operator (created when missing). It is shown once."
        fields=${html`<label>Operator name <input name="name" /></label>${roleSelect()}<label>Lifetime (days) <input name="days" type="number" min="1" max="3660" defaultValue="30" /></label>`}
        onConfirm=${async (v) => {
          const r = await api.post('/tokens', { role: v.role, ...(v.name ? { name: v.name } : {}), ttlSeconds: Number(v.days || 30) * 86400 });
          setSecret({ title: `Token for ${r.operator} (${r.role}, until ${fmtDate(r.expiresAt)})`, value: r.token });
          state.reload();
        }} />
    </div>
    <${Loading} state=${state}>${(ops) => html`<${Table} caption="Operators" rows=${ops} cols=${[
      { label: 'Name', cell: (o) => o.name },
      { label: 'Kind', cell: (o) => o.kind },
      { label: 'Role', cell: (o) => o.role },
      { label: 'State', cell: (o) => html`<${Badge} value=${o.disabled ? 'disabled' : 'active'} />` },
      { label: 'Created', cell: (o) => fmtDate(o.createdAt) },
      { label: '', cell: (o) => html`<div class="row">
        ${o.kind === 'operator' && html`<${ConfirmButton} label="Set password" ariaLabel=${`Set password of ${o.name}`} message=${`Set the console password of ${o.name} (at least 12 characters).`}
          fields=${html`<label>New password <input name="password" type="password" minlength="12" autocomplete="new-password" required /></label>`}
          onConfirm=${async (v) => { await api.put(`/operators/${encodeURIComponent(o.name)}/password`, { password: v.password }); }} />`}
        ${!o.disabled && o.name !== me && html`<${ConfirmButton} label="Disable" ariaLabel=${`Disable ${o.name}`} danger message=${`Disable ${o.name}? Its tokens stop working at once.`}
          onConfirm=${async () => { await api.post(`/operators/${encodeURIComponent(o.name)}/disable`); state.reload(); }} />`}
      </div>` },
    ]} />`}<//>
  <//>`;
}
