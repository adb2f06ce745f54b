import { Worker } from 'node:worker_threads';
import type { AlgorithmIdentifier } from '../pki/algorithm-identifier.ts';
import type { ParsedCsr } from '../pki/csr.ts';
import { BadCsr } from '../issuance/errors.ts';
import { reviveResult, runCryptoJob, type CryptoJob, type MacCheck, type MacCheckInput, type MacKeyScheme, type SignatureCheck } from './crypto-jobs.ts';

type Pending = { resolve: (r: unknown) => void; reject: (e: unknown) => void; job: CryptoJob };
type Slot = { w: Worker; busy: number; ready: boolean };

/**
 * Request checks (CSR parsing and verification, a POP signature, a MAC key's hash chain) on worker
 * threads, so the event loop keeps encoding, signing and storing while another core loads public
 * keys. With `size` 0, or before the workers are up, or if they fail, a job runs inline: the result
 * is the same either way.
 */
export class CryptoPool {
  private workers: Slot[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private onlines: Promise<void>[] = [];
  private spawned = false;

  /** Workers start on first use: a process that never checks a request (OCSP, the CLI) never pays for them. */
  constructor(private readonly size: number) {}

  /** A PKCS#10 request parsed, its signature checked (`signatureValid`); BadCsr when malformed. */
  parseCsr(der: Uint8Array): Promise<ParsedCsr> {
    return this.run({ kind: 'csr', der }) as Promise<ParsedCsr>;
  }

  /** A signature by a key the request carries (e.g. CRMF POP), with the key's KeyInfo when it holds. */
  checkSignature(spki: Uint8Array, algorithm: AlgorithmIdentifier, data: Uint8Array, signature: Uint8Array): Promise<SignatureCheck> {
    return this.run({ kind: 'signature', spki, algorithm, data, signature }) as Promise<SignatureCheck>;
  }

  /** The MAC key a shared secret gives under PasswordBasedMac or PBMAC1; throws for unsupported parameters. */
  macKey(scheme: MacKeyScheme, secret: Uint8Array): Promise<Buffer> {
    return this.run({ kind: 'mac-key', scheme, secret }) as Promise<Buffer>;
  }

  /** A MAC checked and, only if it holds, the signature `input.then` names; one trip to a worker. */
  macCheck(input: MacCheckInput): Promise<MacCheck> {
    return this.run({ kind: 'mac-check', ...input }) as Promise<MacCheck>;
  }

  private run(job: CryptoJob): Promise<unknown> {
    this.ensureWorkers();
    let slot: Slot | undefined;
    for (const s of this.workers) if (s.ready && (!slot || s.busy < slot.busy)) slot = s;
    if (!slot || this.closed) return Promise.resolve().then(() => runCryptoJob(job));
    const id = ++this.seq;
    slot.busy++;
    const target = slot;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, job });
      target.w.postMessage({ id, job });
    });
  }

  private ensureWorkers(): void {
    if (this.spawned || this.closed) return;
    this.spawned = true;
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  private spawn(): void {
    let w: Worker;
    try {
      // Compiled (dist/…/crypto-pool.js): the worker is crypto-worker.js beside it. From source under
      // tsx, the .mjs entry registers tsx in the worker thread first.
      w = new Worker(new URL(import.meta.url.endsWith('.ts') ? './crypto-worker.mjs' : './crypto-worker.js', import.meta.url));
    } catch {
      return;
    }
    const slot: Slot = { w, busy: 0, ready: false };
    w.unref();
    this.onlines.push(new Promise((resolve) => w.once('online', () => ((slot.ready = true), resolve()))));
    w.on('message', (m: { id: number; ok: boolean; r?: unknown; bad?: boolean; message?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      slot.busy--;
      if (m.ok) p.resolve(reviveResult(p.job, m.r));
      else if (m.bad) p.reject(new BadCsr(m.message ?? 'malformed CSR'));
      // Anything else: decide inline, which throws the error with its own type.
      else this.inline(p);
    });
    w.on('error', () => this.drop(slot));
    w.on('exit', () => this.drop(slot));
    this.workers.push(slot);
  }

  private inline(p: Pending): void {
    try {
      p.resolve(runCryptoJob(p.job));
    } catch (e) {
      p.reject(e);
    }
  }

  private drop(slot: Slot): void {
    this.workers = this.workers.filter((s) => s !== slot);
    // Jobs are pure: re-running every pending one inline (not only the lost worker's) is safe.
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      this.inline(p);
    }
  }

  /** Resolves once every worker thread is up (jobs before that run inline). */
  async ready(): Promise<number> {
    this.ensureWorkers();
    await Promise.all(this.onlines);
    return this.workers.filter((s) => s.ready).length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((s) => s.w.terminate()));
    this.workers = [];
  }
}
