/**
 * The PAdES incremental update on its own: PDFs written by hand and by poppler's pdfunite, a second
 * signature after a first, and the PDFs it refuses. Checked with pdfsig.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { signPdf } from '../../protocols/emca/esign/sign.ts';
import { PdfError } from '../../protocols/emca/esign/pdf-syntax.ts';
import { preparePdf } from '../../protocols/emca/esign/pdf-signature.ts';
import { openssl, removeTempDirs, tempDir } from '../support/openssl.ts';
import { minimalPdf } from './minimal-pdf.ts';

afterAll(() => removeTempDirs());

const d = tempDir();
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
writeFileSync(join(d, 'k.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }));
openssl(['req', '-x509', '-key', join(d, 'k.pem'), '-subj', '/CN=PDF Test Signer', '-days', '2', '-outform', 'DER', '-out', join(d, 'c.der')]);
const material = { key: { keyRef: 'test', signer: new SoftwareSigner(privateKey) }, certDer: readFileSync(join(d, 'c.der')), chain: [] };

function pdfsig(pdf: Buffer): string {
  const p = join(tempDir(), 'x.pdf');
  writeFileSync(p, pdf);
  const r = spawnSync('pdfsig', [p], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

describe('PAdES incremental update', () => {
  it('signs a PDF written by pdfunite (binary /ID, two pages); a second signature keeps the first valid', async () => {
    const a = join(d, 'a.pdf');
    writeFileSync(a, minimalPdf('page'));
    const united = join(d, 'u.pdf');
    expect(spawnSync('pdfunite', [a, a, united]).status).toBe(0);
    const once = await signPdf(material, readFileSync(united), new Date(), 'first');
    const out1 = pdfsig(once);
    expect(out1).toMatch(/Signature is Valid/);
    expect(out1).toMatch(/Total document signed/);
    const twice = await signPdf(material, once, new Date(), 'second');
    expect(twice.subarray(0, once.length).equals(once)).toBe(true);
    const out2 = pdfsig(twice);
    const sigs = out2.split(/Signature #\d:/).slice(1);
    expect(sigs).toHaveLength(2);
    for (const s of sigs) expect(s).toMatch(/Signature is Valid/);
    expect(sigs[0]).not.toMatch(/Total document signed/);
    expect(sigs[1]).toMatch(/Total document signed/);
    expect(spawnSync('pdfinfo', [join(d, 'u.pdf')], { encoding: 'utf8' }).stdout).toMatch(/Pages:\s+2/);
  });

  it('ByteRange covers everything but /Contents; PAdES leaves signingTime out of the CMS', async () => {
    const p = preparePdf(minimalPdf(), { signingTime: new Date('2026-12-06T12:00:00Z') });
    const [a, b, c, len] = p.byteRange;
    expect(a).toBe(0);
    expect(c + len).toBe(p.pdf.length);
    expect(p.pdf.subarray(b, c).toString('latin1')).toMatch(/^<0+>$/);
    expect(p.pdf.toString('latin1')).toMatch(/\/M \(D:20261206120000\+00'00'\)/);
    const signed = await signPdf(material, minimalPdf(), new Date(), 'x');
    const hex = /\/Contents <([0-9a-f]+)>/.exec(signed.toString('latin1'))![1].replace(/(00)+$/, '');
    const cms = join(tempDir(), 'c.der');
    writeFileSync(cms, Buffer.from(hex.length % 2 ? hex + '0' : hex, 'hex'));
    const printed = openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', cms]).stdout;
    expect(printed).toMatch(/signingCertificateV2/);
    expect(printed).not.toMatch(/signingTime/);
  });

  it('damaged PDFs (random byte changes, truncations) either update or fail with PdfError, nothing else', () => {
    const base = minimalPdf();
    let seed = 12345;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const alphabet = Buffer.from('0123456789 <>[]()/R\\n\r%obj', 'latin1');
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const m = Buffer.from(base);
      for (let k = 0; k <= rnd(4); k++) m[rnd(m.length)] = rnd(2) ? alphabet[rnd(alphabet.length)] : rnd(256);
      const input = rnd(10) === 0 ? m.subarray(0, rnd(m.length)) : m;
      try {
        preparePdf(input, { signingTime: new Date() });
      } catch (e) {
        expect(e, String((e as Error).stack)).toBeInstanceOf(PdfError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('refuses what it cannot update: no PDF header, cross-reference streams, encryption, a broken xref', () => {
    expect(() => preparePdf(Buffer.from('hello'), { signingTime: new Date() })).toThrow(PdfError);
    const xrefStream = Buffer.from('%PDF-1.5\n1 0 obj\n<< /Type /XRef /Size 2 /W [1 2 1] >>\nstream\nendstream\nendobj\nstartxref\n9\n%%EOF\n', 'latin1');
    expect(() => preparePdf(xrefStream, { signingTime: new Date() })).toThrow(/cross-reference streams/);
    const enc = minimalPdf().toString('latin1').replace('/Root 1 0 R', '/Root 1 0 R /Encrypt 9 0 R');
    expect(() => preparePdf(Buffer.from(enc, 'latin1'), { signingTime: new Date() })).toThrow(/encrypted/);
    const broken = minimalPdf().toString('latin1').replace(/startxref\n\d+/, 'startxref\n3');
    expect(() => preparePdf(Buffer.from(broken, 'latin1'), { signingTime: new Date() })).toThrow(PdfError);
    const truncated = minimalPdf().subarray(0, 200);
    expect(() => preparePdf(truncated, { signingTime: new Date() })).toThrow(PdfError);
  });
});
