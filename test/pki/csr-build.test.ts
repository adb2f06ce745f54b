import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildCsr, parseCsr } from '../../src/pki/csr.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, toEncodedAttributes } from '../../src/pki/name.ts';
import { openssl, tempDir, writeDer } from '../support/openssl.ts';

describe('buildCsr (RFC 2986 encoder)', () => {
  const subject = encodeName(toEncodedAttributes([{ type: 'CN', value: 'device-1' }, { type: 'O', value: 'Example' }]));

  it.each([
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
  ])('%s: openssl verifies the self-signature and reads the attributes', (_n, key) => {
    const der = buildCsr({ subject, key: key(), challengePassword: 'pässword 1', extensions: [subjectAltName([{ type: 'dns', value: 'device-1.example' }])] });
    const file = writeDer(tempDir(), 'req.der', der);
    const r = openssl(['req', '-inform', 'DER', '-in', file, '-verify', '-noout', '-text']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/verify OK/);
    expect(r.output).toMatch(/DNS:device-1\.example/);
    const p = parseCsr(der);
    expect(p.signatureValid).toBe(true);
    expect(p.challengePassword).toBe('pässword 1');
    expect(p.subject).toEqual([{ type: 'CN', value: 'device-1' }, { type: 'O', value: 'Example' }]);
  });

  it('a request without attributes has an empty [0] and no challengePassword', () => {
    const der = buildCsr({ subject, key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey });
    expect(parseCsr(der).challengePassword).toBeUndefined();
    expect(parseCsr(der).signatureValid).toBe(true);
  });
});
