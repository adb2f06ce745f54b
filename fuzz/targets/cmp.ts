/**
 * CMP (RFC 9810, RFC 9483 over HTTP): real PKIMessages made by `openssl cmp -reqout` against the
 * running server — ir protected by PasswordBasedMac with a shared secret made through the admin
 * API, p10cr with an openssl CSR, genm caCerts, an ir for central key generation (no public key)
 * — mutated at the DER level and POSTed; or with only
 * the body mutated, under a fresh transactionID and nonce, and MAC-protected again with the real
 * secret, so the mutation passes the protection check and reaches the body's parsers.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { decodePKIMessage, encodePKIMessage, protectedPartOf } from '../../src/pki/cmp-message.ts';
import { pbmMac, pbmParameterFromDer } from '../../src/pki/cmp-pbm.ts';
import { encodeCertReqMessages } from '../../src/pki/crmf-cert-req-messages.ts';
import { seq } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { mutateDer, nestSequences } from '../mutate/der.ts';
import type { Rng } from '../rng.ts';
import { makeCsr, oddUrlString, openssl } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

const seeds: Buffer[] = [];
let secret = Buffer.alloc(0);
const run = promisify(execFile);

const target: FuzzTarget = {
  name: 'cmp',
  async setup(server) {
    const r = await server.fetch('/api/v1/cmp/secrets', {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ref: `fuzz-${Date.now() % 1e6}` }),
    });
    if (r.status !== 201 && r.status !== 200) throw new Error(`cmp seed secret: ${r.status} ${await r.text()}`);
    const made = (await r.json()) as { ref: string; secret: string };
    const ref = made.ref;
    secret = Buffer.from(made.secret);
    const dir = server.tempDir();
    const key = join(dir, 'k.pem');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
    const csr = makeCsr(dir, '/CN=cmp-fuzz-p10.example.com', 'DNS:cmp-fuzz-p10.example.com');
    const csrPem = join(dir, 'r.pem');
    writeFileSync(csrPem, `-----BEGIN CERTIFICATE REQUEST-----\n${csr.der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`);
    const host = new URL(server.baseUrl).host;
    const common = ['cmp', '-server', host, '-path', 'cmp', '-ref', ref, '-secret', `pass:${made.secret}`, '-unprotected_errors'];
    const cmds: [string, string[]][] = [
      ['ir.der', ['-cmd', 'ir', '-newkey', key, '-subject', '/CN=cmp-fuzz.example.com', '-sans', 'cmp-fuzz.example.com', '-implicit_confirm', '-certout', join(dir, 'c1.pem')]],
      ['p10cr.der', ['-cmd', 'p10cr', '-csr', csrPem, '-certout', join(dir, 'c2.pem')]],
      ['genm.der', ['-cmd', 'genm', '-infotype', 'caCerts']],
    ];
    for (const [name, args] of cmds) {
      const out = join(dir, name);
      // The answer does not matter: the request is written before it is sent.
      await run('openssl', [...common, ...args, '-reqout', out]).catch(() => {});
      seeds.push(readFileSync(out));
    }
    seeds.push(centralKeyIr(seeds[0]));
  },
  next(rng: Rng): FuzzInput {
    let body: Buffer;
    let kind: string;
    const op = rng.int(10);
    if (op <= 3) ({ bytes: body, kind } = remac(rng, rng.pick(seeds)));
    else if (op <= 8) ({ bytes: body, kind } = mutateDer(rng, rng.pick(seeds)));
    else {
      body = rng.pick([Buffer.alloc(0), rng.bytes(rng.int(400)), nestSequences(Buffer.alloc(0), 10_000), rng.pick(seeds)]);
      kind = 'generated';
    }
    const path = rng.chance(0.85) ? '/cmp' : rng.pick(['/cmp/', `/cmp/${oddUrlString(rng)}`, `/.well-known/cmp/p/${oddUrlString(rng)}`, `/cmp?${oddUrlString(rng)}`]);
    const type = rng.chance(0.9) ? 'application/pkixcmp' : rng.pick(['application/octet-stream', 'text/plain', '', 'application/pkixcmp; charset=utf-8']);
    return { method: 'POST', path, headers: type ? { 'content-type': type } : {}, body, kind };
  },
};
/**
 * An ir asking for central key generation (RFC 9483 §4.1.6: no public key, no POP), built from
 * OpenSSL's ir (its header and MAC parameters) since OpenSSL 3.0 cannot send one.
 */
function centralKeyIr(ir: Buffer): Buffer {
  const m = decodePKIMessage(ir);
  const certTemplate = { subject: encodeName(toEncodedAttributes(parseDn('CN=cmp-fuzz-central.example.com'))), extensions: seq(subjectAltName([{ type: 'dns', value: 'cmp-fuzz-central.example.com' }])) };
  const body = { type: 'ir' as const, content: encodeCertReqMessages([{ certReq: { certReqId: 0n, certTemplate } }]) };
  const header = { ...m.header, transactionID: randomBytes(16), senderNonce: randomBytes(16) };
  const protection = pbmMac(pbmParameterFromDer(m.header.protectionAlg!.params!), secret, protectedPartOf(header, body));
  return encodePKIMessage({ ...m, header, body, protection });
}

/** The seed with its body content mutated, a fresh transaction and nonce, and a valid MAC. */
function remac(rng: Rng, seed: Buffer): { bytes: Buffer; kind: string } {
  const m = decodePKIMessage(seed);
  const mutated = mutateDer(rng, m.body.content);
  const header = { ...m.header, transactionID: randomBytes(16), senderNonce: randomBytes(16) };
  const body = { ...m.body, content: mutated.bytes };
  const params = pbmParameterFromDer(m.header.protectionAlg!.params!);
  const protection = pbmMac(params, secret, protectedPartOf(header, body));
  return { bytes: encodePKIMessage({ ...m, header, body, protection }), kind: `remac.${m.body.type}.${mutated.kind}` };
}
export default target;
