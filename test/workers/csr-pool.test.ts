import { afterAll, describe, expect, it } from 'vitest';
import { BadCsr } from '../../src/issuance/errors.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { CsrVerifier } from '../../src/workers/csr-pool.ts';
import { makeCsr } from '../support/openssl.ts';

describe('CSR verification on worker threads', () => {
  const pool = new CsrVerifier(2);
  afterAll(() => pool.close());

  it('gives the same result as inline parsing, for good, forged and malformed requests', async () => {
    expect(await pool.ready()).toBe(2);
    const csr = makeCsr({ subject: '/CN=worker.example', sans: ['DNS:worker.example', 'IP:192.0.2.7'] });
    const viaWorker = await pool.parse(csr.der);
    const inline = parseCsr(csr.der);
    expect({ ...viaWorker, der: undefined }).toEqual({ ...inline, der: undefined });
    expect(viaWorker.signatureValid).toBe(true);
    expect(Buffer.isBuffer(viaWorker.spki)).toBe(true);

    const forged = Buffer.from(csr.der);
    forged[forged.length - 5] ^= 0x01;
    expect((await pool.parse(forged)).signatureValid).toBe(false);

    const err = await pool.parse(Buffer.from('not a csr')).catch((e) => e);
    expect(err).toBeInstanceOf(BadCsr);
    expect(err.message).toMatch(/CSR/);
  });

  it('spreads concurrent work and answers every request', async () => {
    const csrs = Array.from({ length: 4 }, (_, i) => makeCsr({ subject: `/CN=w${i}.example`, sans: [`DNS:w${i}.example`] }));
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.parse(csrs[i % 4].der)));
    expect(results.every((r) => r.signatureValid)).toBe(true);
    expect(new Set(results.map((r) => r.subject[0].value)).size).toBe(4);
  });

  it('runs inline when closed or configured with no workers', async () => {
    const none = new CsrVerifier(0);
    expect(await none.ready()).toBe(0);
    const csr = makeCsr({ subject: '/CN=inline.example', sans: ['DNS:inline.example'] });
    expect((await none.parse(csr.der)).signatureValid).toBe(true);
    await none.close();
  });
});
