// Issuers (CAs) and their CRLs: what each issuer is, its newest CRL, files to download, and
// (officers and administrators) generating a CRL now.
import { api, can } from '../api.js';
import { Badge, ConfirmButton, fmtDate, html, Loading, Page, Table, useLoad } from '../ui.js';

const load = async () => {
  const issuers = await api.get('/issuers');
  const crls = await Promise.all(issuers.map((i) => api.get(`/crl/${i.id}`).catch(() => null)));
  return issuers.map((i, n) => ({ ...i, crl: crls[n] }));
};

export function Issuers() {
  const state = useLoad(load);
  return html`<${Page} title="Issuers & CRLs">
    <${Loading} state=${state}>${(issuers) => issuers.map((i) => html`<article class="panel" aria-labelledby=${`iss-${i.id}`}>
      <h2 id=${`iss-${i.id}`}>${i.name} <span class="muted">(${i.id})</span> <${Badge} value=${i.status} />${i.isDefault ? html` <${Badge} value="active" label="default" />` : ''}</h2>
      <dl class="kv">
        <dt>Subject</dt><dd>${i.subject}</dd>
        <dt>Parent</dt><dd>${i.parentId ?? (i.isRoot ? 'self-signed root' : '—')}</dd>
        <dt>Key</dt><dd>${i.keyAlgorithm}</dd>
        <dt>Valid</dt><dd>${fmtDate(i.notBefore)} → ${fmtDate(i.notAfter)}</dd>
        <dt>Path length</dt><dd>${i.pathLength ?? 'unlimited'}</dd>
        <dt>SHA-256</dt><dd class="mono">${i.fingerprintSha256}</dd>
        <dt>CRL settings</dt><dd>${Object.entries(i.options).map(([k, v]) => `${k}=${v}`).join(', ') || 'defaults'}</dd>
        <dt>Newest CRL</dt><dd>${i.crl ? html`#${i.crl.number}, ${i.crl.entries} entries, ${fmtDate(i.crl.thisUpdate)} → ${fmtDate(i.crl.nextUpdate)} <${Badge} value=${new Date(i.crl.nextUpdate) > new Date() ? 'fresh' : 'stale'} />` : 'none yet'}</dd>
      </dl>
      <div class="actions">
        <a class="button" href=${`/ca/${i.id}.pem`} download=${`${i.id}-chain.pem`}>Chain (PEM)</a>
        <a class="button" href=${`/ca/${i.id}.crt`} download=${`${i.id}.crt`}>Certificate (DER)</a>
        <a class="button" href=${`/crl/${i.id}.crl`} download=${`${i.id}.crl`}>CRL</a>
        ${can('officer') && html`<${ConfirmButton} label="Generate CRL now" ariaLabel=${`Generate a CRL for ${i.id} now`} message=${`Sign and publish a new CRL for ${i.id} now?`} onConfirm=${async () => { await api.post(`/crl/${i.id}/generate`); state.reload(); }} />`}
      </div>
    </article>`)}<//>
  <//>`;
}
