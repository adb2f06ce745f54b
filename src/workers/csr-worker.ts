import { parentPort } from 'node:worker_threads';
import { BadCsr } from '../issuance/errors.ts';
import { parseCsr } from '../pki/csr.ts';

/** Parses and verifies CSRs off the event loop (loading a public key dominates a CSR's cost). */
parentPort!.on('message', (m: { id: number; der: Uint8Array }) => {
  try {
    const r = parseCsr(m.der);
    parentPort!.postMessage({ id: m.id, ok: true, r: { ...r, der: undefined } });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, bad: e instanceof BadCsr, message: (e as Error).message });
  }
});
