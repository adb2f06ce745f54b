/**
 * Invariant 6 (DESIGN.md): private keys of issuers are never stored in the clear. The sealed
 * column is not PKCS#8; no file under the data directory holds a PEM private key (other than
 * the HTTPS server's own tls/server.key) or the DER PKCS#8 / raw private scalar of an issuer key;
 * a wrong key-encryption key fails clearly; a restart on the same data keeps the same root.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isNotNull } from 'drizzle-orm';
import pino from 'pino';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, type Context } from '../../src/context.ts';
import { certificates, issuers } from '../../src/db/schema.ts';
import { unseal } from '../../src/ca/seal.ts';
import { ensureServerTls } from '../../src/tls.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';
import { expectIssued, operator } from '../issuance/helpers.ts';

const silent = () => pino({ level: 'silent' });

/** DER prefixes that open a PKCS#8 PrivateKeyInfo: version 0 then the algorithm OIDs. */
const pkcs8Markers = [
  Buffer.from('020100300d06092a864886f70d010101', 'hex'), // v0, rsaEncryption
  Buffer.from('020100301306072a8648ce3d0201', 'hex'), // v0, id-ecPublicKey
  Buffer.from('020100300506032b6570', 'hex'), // v0, Ed25519
  Buffer.from('06092a864886f70d010101', 'hex'), // rsaEncryption OID alone
  Buffer.from('06072a8648ce3d0201', 'hex'), // id-ecPublicKey OID alone
];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    if (s.isDirectory()) out.push(...files(p));
    else if (s.isFile()) out.push(p);
  }
  return out;
}

/** The secret bytes of a private key: EC/Ed25519 `d`, RSA `d`, `p` and `q`. */
function secretParts(pkcs8: Buffer): Buffer[] {
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return (['d', 'p', 'q'] as const).filter((k) => jwk[k]).map((k) => Buffer.from(jwk[k]!, 'base64url'));
}

/** Client connections to the database of `url`, seen from the server (waits briefly for closing backends to exit). */
async function connectionsTo(url: string): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    let n = 0;
    for (let i = 0; i < 50; i++) {
      [{ n }] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = ${name}`;
      if (n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return n;
  } finally {
    await admin.end();
  }
}

const fingerprint = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

describe.each(drivers)('invariant 6: issuer keys at rest (%s)', (driver) => {
  let env: TestEnv | undefined;
  const open: Context[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close().catch(() => {});
    await env?.cleanup();
    env = undefined;
  });

  it('sealed, nowhere in the clear, refused under a wrong KEK, the same root after a restart', async () => {
    env = await makeTestEnv(driver);
    const ctx = await createContext(env.config, { logger: silent() });
    open.push(ctx);

    // 1. The sealed column.
    const rows = await ctx.db.select({ id: issuers.id, sealed: issuers.privateKeySealed, certDer: issuers.certDer }).from(issuers);
    expect(rows.map((r) => r.id).sort()).toEqual(['dev-issuing', 'dev-root']);
    const issuerKeys = new Map<string, Buffer>();
    for (const r of rows) {
      const sealed = Buffer.from(r.sealed!);
      expect(() => createPrivateKey({ key: sealed, format: 'der', type: 'pkcs8' }), `${r.id}: sealed blob parses as PKCS#8`).toThrow();
      expect(() => createPrivateKey({ key: sealed, format: 'der', type: 'sec1' })).toThrow();
      for (const m of pkcs8Markers) expect(sealed.includes(m), `${r.id}: sealed blob contains ${m.toString('hex')}`).toBe(false);
      // And it really is the issuer's key, sealed: unsealing gives the key of the certificate.
      const pkcs8 = unseal(ctx.kek, sealed, `issuer-key:${r.id}`);
      const pub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
      expect(pub.equals(ctx.issuers.peek(r.id)!.spki)).toBe(true);
      for (const part of secretParts(pkcs8)) expect(sealed.includes(part)).toBe(false);
      issuerKeys.set(r.id, pkcs8);
    }

    // A server-generated end-entity key (emCA createPKCS12 style) is sealed the same way.
    const gen = expectIssued(
      await ctx.pipeline.issue({ principal: operator, profile: 'tls-client', key: { kind: 'generate', spec: { type: 'EC', curve: 'P-256' } }, subject: [{ type: 'CN', value: 'generated' }] }),
    );
    const [genRow] = await ctx.db.select({ sealed: certificates.privateKeySealed }).from(certificates).where(isNotNull(certificates.privateKeySealed));
    expect(() => createPrivateKey({ key: Buffer.from(genRow.sealed!), format: 'der', type: 'pkcs8' })).toThrow();
    expect(Buffer.from(genRow.sealed!).includes(Buffer.from(gen.privateKey!))).toBe(false);

    // The HTTPS server key: the one PEM private key allowed on disk.
    await ensureServerTls(ctx);
    const root = fingerprint(ctx.issuers.peek('dev-root')!.certDer);
    const issuing = fingerprint(ctx.issuers.peek('dev-issuing')!.certDer);
    await ctx.close();
    open.length = 0;

    // 2. Every file under the data directory (for PGlite this includes the database files and WAL).
    const all = files(env.dataDir);
    expect(all.length).toBeGreaterThan(0);
    const secrets: { what: string; bytes: Buffer }[] = [];
    for (const [id, pkcs8] of issuerKeys) {
      secrets.push({ what: `${id} PKCS#8 DER`, bytes: pkcs8 });
      secretParts(pkcs8).forEach((b, i) => secrets.push({ what: `${id} private component ${i}`, bytes: b }));
    }
    secrets.push({ what: 'generated end-entity PKCS#8', bytes: Buffer.from(gen.privateKey!) });
    const pemKeyFiles: string[] = [];
    for (const f of all) {
      const data = readFileSync(f);
      const rel = relative(env.dataDir, f);
      if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(data.toString('latin1'))) pemKeyFiles.push(rel);
      for (const s of secrets) expect(data.includes(s.bytes), `${s.what} found in ${rel}`).toBe(false);
      // Base64 of the PKCS#8 (a PEM body without armour) is no better.
      for (const [id, pkcs8] of issuerKeys) expect(data.includes(Buffer.from(pkcs8.toString('base64').slice(0, 60))), `${id} key as base64 in ${rel}`).toBe(false);
    }
    expect(pemKeyFiles).toEqual(['tls/server.key']);

    // 3. A wrong key-encryption key cannot load the issuers, and says so without leaking anything.
    const wrongKek = randomBytes(32).toString('base64');
    let err: Error | undefined;
    try {
      open.push(await createContext({ ...env.config, kek: wrongKek }, { logger: silent() }));
    } catch (e) {
      err = e as Error;
    }
    expect(err, 'createContext with a wrong KEK must fail').toBeDefined();
    expect(err!.message).toMatch(/cannot unseal issuer-key:dev-(root|issuing): wrong key-encryption key or tampered data/);
    expect(err!.message).not.toContain(wrongKek);
    // A failed start leaves nothing open on the database (no leaked pool, no second PGlite).
    if (env.databaseUrl) expect(await connectionsTo(env.databaseUrl)).toBe(0);
    // A KEK too short to be one is refused up front, naming the setting.
    await expect(createContext({ ...env.config, kek: randomBytes(16).toString('base64') }, { logger: silent() })).rejects.toThrow(
      /CERTGATE_KEK: the key-encryption key must be at least 32 bytes/,
    );

    // 4. A restart on the same data keeps the hierarchy (no new root) and can sign.
    const again = await createContext(env.config, { logger: silent() });
    open.push(again);
    expect(fingerprint(again.issuers.peek('dev-root')!.certDer)).toBe(root);
    expect(fingerprint(again.issuers.peek('dev-issuing')!.certDer)).toBe(issuing);
    expect(await again.issuers.count()).toBe(2);
    const after = expectIssued(
      await again.pipeline.issue({ principal: operator, profile: 'tls-client', key: { kind: 'generate', spec: { type: 'EC', curve: 'P-256' } }, subject: [{ type: 'CN', value: 'after-restart' }] }),
    );
    expect(after.chain.map((c) => fingerprint(c))).toEqual([issuing, root]);
  });
});
