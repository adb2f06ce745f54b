import { Worker } from 'node:worker_threads';
import { BadCsr } from '../issuance/errors.ts';
import { parseCsr, type ParsedCsr } from '../pki/csr.ts';

type Pending = { resolve: (r: ParsedCsr) => void; reject: (e: unknown) => void; der: Uint8Array };

/**
 * CSR parsing and signature verification on worker threads, so the event loop keeps encoding,
 * signing and storing while another core loads public keys. With `size` 0, or before the workers
 * are up, or if they fail, parsing runs inline: the result is the same either way.
 */
export class CsrVerifier {
  private workers: { w: Worker; busy: number; ready: boolean }[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private onlines: Promise<void>[] = [];

  private spawned = false;

  /** Workers start on first use: a process that never sees a CSR (OCSP, the CLI) never pays for them. */
  constructor(private readonly size: number) {}

  private ensureWorkers(): void {
    if (this.spawned || this.closed) return;
    this.spawned = true;
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  private spawn(): void {
    let w: Worker;
    try {
      // Compiled (dist/…/csr-pool.js): the worker is csr-worker.js beside it. From source under tsx,
      // the .mjs entry registers tsx in the worker thread first.
      w = new Worker(new URL(import.meta.url.endsWith('.ts') ? './csr-worker.mjs' : './csr-worker.js', import.meta.url));
    } catch {
      return;
    }
    const slot = { w, busy: 0, ready: false };
    w.unref();
    this.onlines.push(new Promise((resolve) => w.once('online', () => ((slot.ready = true), resolve()))));
    w.on('message', (m: { id: number; ok: boolean; r?: Omit<ParsedCsr, 'der'>; bad?: boolean; message?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      slot.busy--;
      if (m.ok) {
        // Structured clone turns Buffers into plain Uint8Arrays: give callers Buffers again.
        const r = m.r!;
        p.resolve({
          ...r,
          der: p.der,
          spki: Buffer.from(r.spki),
          subjectDer: Buffer.from(r.subjectDer),
          requestedExtensions: r.requestedExtensions.map((x) => ({ ...x, value: Buffer.from(x.value) })),
        });
      }
      else if (m.bad) p.reject(new BadCsr(m.message ?? 'malformed CSR'));
      else {
        // Anything unexpected in the worker: decide inline rather than fail the request.
        try {
          p.resolve(parseCsr(p.der));
        } catch (e) {
          p.reject(e);
        }
      }
    });
    w.on('error', () => this.drop(slot));
    w.on('exit', () => this.drop(slot));
    this.workers.push(slot);
  }

  private drop(slot: { w: Worker }): void {
    this.workers = this.workers.filter((s) => s !== slot);
    // Requests it held are re-decided inline (pending map has no owner info: re-run all of them is safe, parse is pure).
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      try {
        p.resolve(parseCsr(p.der));
      } catch (e) {
        p.reject(e);
      }
    }
  }

  parse(der: Uint8Array): Promise<ParsedCsr> {
    this.ensureWorkers();
    const slot = this.workers.filter((s) => s.ready).sort((a, b) => a.busy - b.busy)[0];
    if (!slot || this.closed) return Promise.resolve().then(() => parseCsr(der));
    const id = ++this.seq;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, der });
      slot.w.postMessage({ id, der });
    });
  }

  /** Resolves once every worker thread is up (requests before that run inline). */
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
