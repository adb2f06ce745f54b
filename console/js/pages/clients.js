// Protocol clients: whatever each mounted protocol's admin API offers — ACME EAB keys, emCA
// clients, EST labels and users, SCEP one-time challenges, CMP shared secrets. A protocol that is
// not mounted (404) or not readable by this role (403) says so instead of failing the page.
import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import { Badge, ConfirmButton, fmtDate, html, Loading, Page, SecretBox, Table, useLoad } from '../ui.js';

const soft = (p) => p.catch((e) => ({ unavailable: e.status === 403 ? 'Your role cannot read this.' : e.status === 404 ? 'This protocol is not mounted.' : e.message }));

function Section({ title, state, children }) {
  return html`<section class="panel" aria-label=${title}><h2>${title}</h2>
    <${Loading} state=${state}>${(d) => (d && d.unavailable ? html`<p class="muted">${d.unavailable}</p>` : children(d))}<//>
  </section>`;
}

export function Clients() {
  const [secret, setSecret] = useState(null);
  const show = (title) => (value) => setSecret({ title, value });
  return html`<${Page} title="Protocol clients">
    <${SecretBox} title=${secret?.title} value=${secret?.value} onClose=${() => setSecret(null)} />
    <${Acme} show=${show('ACME EAB key')} />
    <${Emca} show=${show('emCA client secrets')} />
    <${Est} show=${show('EST user password')} />
    <${Scep} show=${show('SCEP challenge')} />
    <${Cmp} show=${show('CMP shared secret')} />
  <//>`;
}

function Acme({ show }) {
  const state = useLoad(() => soft(api.get('/acme/eab')));
  return html`<${Section} title="ACME external account binding keys" state=${state}>${(d) => html`
    <${Table} caption="EAB keys" empty="No EAB key." rows=${d.keys} cols=${[
      { label: 'Key id', mono: true, cell: (k) => k.kid },
      { label: 'Note', cell: (k) => k.note ?? '' },
      { label: 'Account', cell: (k) => k.accountId ?? 'unused' },
      { label: 'State', cell: (k) => html`<${Badge} value=${k.disabled ? 'disabled' : 'active'} />` },
      { label: 'Created', cell: (k) => `${fmtDate(k.createdAt)} by ${k.createdBy}` },
      ...(can('officer') ? [{ label: '', cell: (k) => !k.disabled && html`<${ConfirmButton} label="Disable" ariaLabel=${`Disable ${k.kid}`} danger message=${`Disable EAB key ${k.kid}?`} onConfirm=${async () => { await api.del(`/acme/eab/${encodeURIComponent(k.kid)}`); state.reload(); }} />` }] : []),
    ]} />
    ${can('officer') && html`<${ConfirmButton} label="New EAB key" message="Create an external account binding key. The HMAC key is shown once."
      fields=${html`<label>Note <input name="note" maxlength="200" /></label>`}
      onConfirm=${async (v) => { show(await api.post('/acme/eab', v.note ? { note: v.note } : {})); state.reload(); }} />`}`}<//>`;
}

function Emca({ show }) {
  const state = useLoad(() => soft(api.get('/emca/clients')));
  return html`<${Section} title="emCA clients" state=${state}>${(d) => html`
    <${Table} caption="emCA clients" empty="No emCA client." rows=${d.clients} cols=${[
      { label: 'User name', cell: (c) => c.userName },
      { label: 'Profiles', cell: (c) => (c.allowedProfiles ?? []).join(', ') || 'any' },
      { label: 'IPs', cell: (c) => (c.allowedIps ?? []).join(', ') || 'any' },
      { label: 'State', cell: (c) => html`<${Badge} value=${c.disabled ? 'disabled' : 'active'} />` },
      ...(can('administrator') ? [{ label: '', cell: (c) => html`<div class="row">
        <${ConfirmButton} label=${c.disabled ? 'Enable' : 'Disable'} ariaLabel=${`${c.disabled ? 'Enable' : 'Disable'} ${c.userName}`} danger=${!c.disabled} message=${`${c.disabled ? 'Enable' : 'Disable'} emCA client ${c.userName}?`}
          onConfirm=${async () => { await api.post(`/emca/clients/${c.id}/${c.disabled ? 'enable' : 'disable'}`); state.reload(); }} />
        <${ConfirmButton} label="Rotate secrets" ariaLabel=${`Rotate secrets of ${c.userName}`} message=${`New password and keys for ${c.userName}? The old ones stop working.`}
          onConfirm=${async () => { show(await api.post(`/emca/clients/${c.id}/rotate`)); state.reload(); }} />
      </div>` }] : []),
    ]} />
    ${can('administrator') && html`<${ConfirmButton} label="New emCA client" message="Create an emCA client; its secrets are shown once."
      fields=${html`<label>User name <input name="name" required /></label><label>Allowed IPs (comma-separated) <input name="ips" /></label><label>Allowed profiles <input name="profiles" /></label>`}
      onConfirm=${async (v) => { show(await api.post('/emca/clients', v)); state.reload(); }} />`}`}<//>`;
}

function Est({ show }) {
  const state = useLoad(async () => {
    const labels = await soft(api.get('/est/labels'));
    if (labels.unavailable) return labels;
    return { labels, users: await api.get('/est/users') };
  });
  return html`<${Section} title="EST labels and users" state=${state}>${(d) => html`
    <${Table} caption="EST labels" rows=${d.labels} cols=${[
      { label: 'Label', cell: (l) => l.name },
      { label: 'Profile', cell: (l) => l.profile },
      { label: 'Authentication', cell: (l) => `${l.auth}${l.channelBinding ? ' + channel binding' : ''}` },
    ]} />
    <${Table} caption="EST users" empty="No EST user." rows=${d.users} cols=${[
      { label: 'Label', cell: (u) => u.label },
      { label: 'User', cell: (u) => u.name },
      { label: 'State', cell: (u) => html`<${Badge} value=${u.disabled ? 'disabled' : 'active'} />` },
      ...(can('administrator') ? [{ label: '', cell: (u) => !u.disabled && html`<${ConfirmButton} label="Disable" ariaLabel=${`Disable ${u.label}/${u.name}`} danger message=${`Disable EST user ${u.label}/${u.name}?`} onConfirm=${async () => { await api.post(`/est/users/${encodeURIComponent(u.label)}/${encodeURIComponent(u.name)}/disable`); state.reload(); }} />` }] : []),
    ]} />
    ${can('administrator') && html`<${ConfirmButton} label="New EST user" message="Create an EST user (HTTP Basic); the password is shown once."
      fields=${html`<label>Label <select name="label">${d.labels.map((l) => html`<option>${l.name}</option>`)}</select></label><label>User name <input name="name" required /></label>`}
      onConfirm=${async (v) => { show(await api.post('/est/users', v)); state.reload(); }} />`}`}<//>`;
}

function Scep({ show }) {
  return html`<section class="panel" aria-label="SCEP challenges"><h2>SCEP one-time challenges</h2>
    <p class="muted">Challenges are not listed: each is shown once when made and is spent by one enrolment.</p>
    ${can('officer') ? html`<${ConfirmButton} label="New SCEP challenge" message="Make a one-time challenge password for one device."
      fields=${html`<label>Label <input name="label" defaultValue="default" /></label><label>Valid for (seconds) <input name="ttlSeconds" type="number" min="1" defaultValue="3600" /></label>`}
      onConfirm=${async (v) => show(await api.post('/scep/challenges', { label: v.label || 'default', ttlSeconds: Number(v.ttlSeconds) }))} />`
      : html`<p class="muted">Officers and administrators make challenges.</p>`}
  </section>`;
}

function Cmp({ show }) {
  const state = useLoad(() => soft(api.get('/cmp/secrets')));
  return html`<${Section} title="CMP shared secrets" state=${state}>${(d) => html`
    <${Table} caption="CMP secrets" empty="No CMP secret." rows=${d.secrets} cols=${[
      { label: 'Reference', mono: true, cell: (s) => s.ref },
      { label: 'Alias', cell: (s) => s.alias ?? 'default' },
      { label: 'State', cell: (s) => html`<${Badge} value=${s.disabled ? 'disabled' : 'active'} />` },
      { label: 'Created', cell: (s) => `${fmtDate(s.createdAt)} by ${s.createdBy}` },
      ...(can('administrator') ? [{ label: '', cell: (s) => html`<${ConfirmButton} label=${s.disabled ? 'Enable' : 'Disable'} ariaLabel=${`${s.disabled ? 'Enable' : 'Disable'} ${s.ref}`} danger=${!s.disabled} message=${`${s.disabled ? 'Enable' : 'Disable'} CMP reference ${s.ref}?`}
        onConfirm=${async () => { await api.post(`/cmp/secrets/${encodeURIComponent(s.ref)}/${s.disabled ? 'enable' : 'disable'}`); state.reload(); }} />` }] : []),
    ]} />
    ${can('administrator') && html`<${ConfirmButton} label="New CMP secret" message="Create a shared secret (PBM) for a CMP client; shown once."
      fields=${html`<label>Reference <input name="ref" required /></label><label>Alias <input name="alias" /></label>`}
      onConfirm=${async (v) => { show(await api.post('/cmp/secrets', v)); state.reload(); }} />`}`}<//>`;
}
