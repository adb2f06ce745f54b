// One certificate: what the database records, the decoded certificate, downloads, and (for
// officers and administrators) revoke / suspend / reinstate, each behind a confirmation.
import { useEffect, useState } from 'preact/hooks';
import { api, can, saveFile } from '../api.js';
import { decodeCertificate, fingerprint, pemToDer } from '../x509.js';
import { Badge, certStatus, ConfirmButton, fmtDate, html, Loading, Page, useLoad } from '../ui.js';

const REASONS = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];

export function CertificateDetail({ id }) {
  const state = useLoad(() => api.get(`/certificates/${encodeURIComponent(id)}`), [id]);
  return html`<${Page} title="Certificate">
    <p><a href="#/certificates">← Certificates</a></p>
    <${Loading} state=${state}>${(c) => html`<${Detail} c=${c} reload=${state.reload} />`}<//>
  <//>`;
}

function Detail({ c, reload }) {
  const der = pemToDer(c.pem);
  const [fp, setFp] = useState(null);
  useEffect(() => { fingerprint(der).then(setFp, () => setFp(null)); }, [c.id]);
  let decoded;
  let decodeError;
  try { decoded = decodeCertificate(der); } catch (e) { decodeError = e; }
  const status = certStatus(c);
  const act = (verb, body) => async () => { await api.post(`/certificates/${c.serial}/${verb}`, { ...body, issuerId: c.issuerId }); reload(); };
  const file = (c.subject.match(/CN=([^,+]+)/)?.[1] ?? c.serial).replace(/[^A-Za-z0-9._-]+/g, '_');
  return html`
    <div class="panel">
      <dl class="kv">
        <dt>Status</dt><dd><${Badge} value=${status} />${c.revocationReason ? html` <span class="muted">(${c.revocationReason}, ${fmtDate(c.revokedAt)})</span>` : ''}</dd>
        <dt>Subject</dt><dd>${c.subject || '(empty)'}</dd>
        <dt>SANs</dt><dd>${c.sans.join(', ') || '—'}</dd>
        <dt>Serial</dt><dd class="mono" data-field="serial">${c.serial}</dd>
        <dt>Issuer</dt><dd>${c.issuerId}</dd>
        <dt>Profile</dt><dd>${c.profile}</dd>
        <dt>Valid</dt><dd>${fmtDate(c.notBefore)} → ${fmtDate(c.notAfter)}</dd>
        <dt>Requested by</dt><dd>${c.principal} <span class="muted">(${c.protocol})</span></dd>
        <dt>Stored</dt><dd>${fmtDate(c.createdAt)}</dd>
        ${fp && html`<dt>SHA-256</dt><dd class="mono">${fp}</dd>`}
      </dl>
      <div class="actions">
        <button type="button" onClick=${() => saveFile(`${file}.pem`, c.pem, 'application/x-pem-file')}>Download PEM</button>
        <button type="button" onClick=${() => saveFile(`${file}.der`, der, 'application/pkix-cert')}>Download DER</button>
        <button type="button" onClick=${async () => saveFile(`${file}-chain.pem`, await api.blob(`/certificates/${c.id}/pem?chain=1`))}>Download chain</button>
      </div>
      ${can('officer') && html`<div class="actions" role="group" aria-label="Change status">
        ${c.status !== 'revoked' && html`<${ConfirmButton} label="Revoke" danger
          message=${`Revoke ${c.subject || c.serial}? This cannot be undone; the next CRL and OCSP list it at once.`}
          fields=${html`<label>Reason <select name="reason">${REASONS.map((r) => html`<option value=${r}>${r}</option>`)}</select></label>`}
          onConfirm=${(v) => act('revoke', { reason: v.reason })()} />`}
        ${c.status === 'valid' && html`<${ConfirmButton} label="Suspend" message=${`Suspend ${c.subject || c.serial} (certificateHold)? It can be reinstated later.`} onConfirm=${act('suspend', {})} />`}
        ${c.status === 'hold' && html`<${ConfirmButton} label="Reinstate" message=${`Lift the suspension of ${c.subject || c.serial}?`} onConfirm=${act('reinstate', {})} />`}
      </div>`}
    </div>
    <h2>Decoded certificate</h2>
    ${decodeError ? html`<p class="error">could not decode: ${decodeError.message}</p>` : html`<div class="panel"><dl class="kv" data-decoded>
      <dt>Version</dt><dd>${decoded.version}</dd>
      <dt>Serial</dt><dd class="mono">${decoded.serial}</dd>
      <dt>Signature</dt><dd>${decoded.signatureAlgorithm}</dd>
      <dt>Issuer</dt><dd>${decoded.issuer}</dd>
      <dt>Subject</dt><dd>${decoded.subject || '(empty)'}</dd>
      <dt>Not before</dt><dd>${fmtDate(decoded.notBefore)}</dd>
      <dt>Not after</dt><dd>${fmtDate(decoded.notAfter)}</dd>
      <dt>Public key</dt><dd>${decoded.publicKey}</dd>
      ${decoded.extensions.map((e) => html`<dt>${e.name}${e.critical ? ' (critical)' : ''}</dt><dd class=${/^[0-9A-F:…]+$/.test(e.value) ? 'mono' : ''}>${e.value}</dd>`)}
    </dl></div>`}
    <details><summary>PEM</summary><pre>${c.pem}</pre></details>`;
}
