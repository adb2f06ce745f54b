/** OCSP (RFC 6960): mutated real requests made by `openssl ocsp -reqout`, POSTed and in GET URLs. */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mutateDer, nestSequences } from '../mutate/der.ts';
import type { Rng } from '../rng.ts';
import { issue, makeCsr, openssl } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

const seeds: Buffer[] = [];

const target: FuzzTarget = {
  name: 'ocsp',
  async setup(server) {
    const dir = server.tempDir();
    const a = await issue(server, makeCsr(dir, '/CN=ocsp-fuzz-a.example.com', 'DNS:ocsp-fuzz-a.example.com').der, 'tls-server');
    const b = await issue(server, makeCsr(dir, '/CN=ocsp-fuzz-b.example.com', 'DNS:ocsp-fuzz-b.example.com').der, 'tls-server');
    const issuer = Buffer.from(await (await server.fetch('/ca/dev-issuing.crt')).arrayBuffer());
    const pem = (der: Buffer, name: string) => {
      const p = join(dir, name);
      writeFileSync(p, `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`);
      return p;
    };
    const [ip, ap, bp] = [pem(issuer, 'i.pem'), pem(a.der, 'a.pem'), pem(b.der, 'b.pem')];
    const req = (name: string, extra: string[]) => {
      const out = join(dir, name);
      openssl(['ocsp', '-issuer', ip, ...extra, '-reqout', out]);
      return readFileSync(out);
    };
    seeds.push(req('1.der', ['-cert', ap]), req('2.der', ['-cert', ap, '-no_nonce']), req('3.der', ['-sha256', '-cert', ap, '-cert', bp]));
  },
  next(rng: Rng): FuzzInput {
    const seed = rng.pick(seeds);
    let body: Buffer;
    let kind: string;
    if (rng.chance(0.9)) ({ bytes: body, kind } = mutateDer(rng, seed));
    else {
      body = rng.pick([Buffer.alloc(0), rng.bytes(rng.int(300)), nestSequences(Buffer.alloc(0), 10_000), Buffer.from('MEUwQzBBMD8wPTAJBgUrDgMCGgUA', 'base64'), seed]);
      kind = 'generated';
    }
    if (rng.chance(0.25)) {
      const b64 = body.toString(rng.chance(0.5) ? 'base64' : 'base64url');
      return { method: 'GET', path: `/ocsp/${rng.chance(0.5) ? encodeURIComponent(b64) : b64}`, kind: `get.${kind}` };
    }
    return { method: 'POST', path: '/ocsp', headers: { 'content-type': 'application/ocsp-request' }, body, kind: `post.${kind}` };
  },
};
export default target;
