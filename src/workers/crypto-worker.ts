import { parentPort } from 'node:worker_threads';
import { BadCsr } from '../issuance/errors.ts';
import { runCryptoJob, type CryptoJob } from './crypto-jobs.ts';

/** Runs request checks off the event loop (loading a public key and hash chains dominate their cost). */
parentPort!.on('message', (m: { id: number; job: CryptoJob }) => {
  try {
    const r = runCryptoJob(m.job) as Record<string, unknown> | Uint8Array;
    // A parsed CSR's DER is the caller's already: do not copy it back.
    parentPort!.postMessage({ id: m.id, ok: true, r: m.job.kind === 'csr' ? { ...(r as Record<string, unknown>), der: undefined } : r });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, bad: e instanceof BadCsr, message: (e as Error).message });
  }
});
