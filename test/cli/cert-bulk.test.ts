/**
 * `certgate cert import` / `cert export` through the compiled CLI: certificates an external CA
 * (made by openssl) issued are taken into the inventory from a PEM bundle; one is revoked; the
 * inventory is exported as JSON lines and imported into a second Certgate that holds the same
 * CA, where statuses survive (its CRL lists the revoked one, its inventory shows it revoked).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, diagnostics, runCertgate } from '../support/cli.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';

const ossl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.each(drivers)('certgate cert import/export (%s)', { timeout: 600_000 }, (driver) => {
  const envs: TestEnv[] = [];
  afterAll(async () => {
    for (const t of envs) await t.cleanup();
  });

  it('imports a PEM bundle, exports JSON lines, re-imports elsewhere with statuses kept', async () => {
    const a = await makeTestEnv(driver);
    const b = await makeTestEnv(driver);
    envs.push(a, b);
    const envA = cliEnv(a.dataDir, a.databaseUrl);
    const envB = cliEnv(b.dataDir, b.databaseUrl);
    const d = a.dataDir;
    // An external hierarchy: offline root, the subordinate CA both servers will hold, three leaves it issued.
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-subj', '/CN=Ext Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d);
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.csr', '-subj', '/CN=Ext Issuing'], d);
    writeFileSync(join(d, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    ossl(['x509', '-req', '-in', 'ca.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '1000', '-extfile', 'ca.ext', '-out', 'ca.pem'], d);
    writeFileSync(join(d, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
    let bundle = '';
    const serials: string[] = [];
    for (const n of [1, 2, 3]) {
      ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `l${n}.key`, '-out', `l${n}.csr`, '-subj', `/CN=host${n}.ext.test`], d);
      ossl(['x509', '-req', '-in', `l${n}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '90', '-extfile', 'leaf.ext', '-out', `l${n}.pem`], d);
      bundle += readFileSync(join(d, `l${n}.pem`), 'utf8');
      serials.push(ossl(['x509', '-in', `l${n}.pem`, '-noout', '-serial'], d).trim().split('=')[1].toLowerCase().replace(/^0+/, ''));
    }
    // A certificate no issuer of the server signed: refused, the rest still imported.
    bundle += readFileSync(join(d, 'root.pem'), 'utf8');
    writeFileSync(join(d, 'bundle.pem'), bundle);

    expect((await runCertgate(['init'], envA)).code).toBe(0);
    const imp = await runCertgate(['issuer', 'import', '--id', 'ext', '--cert', join(d, 'ca.pem'), '--key', join(d, 'ca.key')], envA);
    expect(imp.code, imp.stderr).toBe(0);
    const bulk = await runCertgate(['cert', 'import', '--file', join(d, 'bundle.pem'), '--profile', 'legacy'], envA);
    expect(bulk.code).toBe(2);
    expect(diagnostics(bulk)).toContain('imported 3, already present 0, refused 1');
    expect(diagnostics(bulk)).toContain('record 4: pem: not signed by any issuer of this server');
    const again = await runCertgate(['cert', 'import', '--file', join(d, 'l1.pem')], envA);
    expect(diagnostics(again)).toContain('imported 0, already present 1, refused 0');
    expect(again.code).toBe(0);

    const revoke = await runCertgate(['cert', 'revoke', '--serial', serials[1], '--issuer', 'ext', '--reason', 'keyCompromise'], envA);
    expect(revoke.code, revoke.stderr).toBe(0);

    const exp = await runCertgate(['cert', 'export', '--issuer', 'ext', '--out', join(d, 'ext.jsonl')], envA);
    expect(exp.code, exp.stderr).toBe(0);
    expect(diagnostics(exp)).toContain('exported 3 certificates');
    const lines = readFileSync(join(d, 'ext.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.serial.replace(/^0+/, '')).sort()).toEqual([...serials].sort());
    expect(lines.find((l) => l.serial.replace(/^0+/, '') === serials[1])).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise', profile: 'legacy' });
    const pem = await runCertgate(['cert', 'export', '--issuer', 'ext', '--format', 'pem'], envA);
    expect(pem.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    // The bundle is what openssl issued, byte for byte (as PEM).
    expect(pem.stdout.replace(/\s/g, '')).toContain(readFileSync(join(d, 'l3.pem'), 'utf8').replace(/\s/g, ''));

    // Server B holds the same CA; the JSON lines carry statuses across.
    const initB = await runCertgate(['init', '--import-cert', join(d, 'ca.pem'), '--import-key', join(d, 'ca.key'), '--import-id', 'ext'], envB);
    expect(initB.code, initB.stderr).toBe(0);
    const impB = await runCertgate(['cert', 'import', '--file', join(d, 'ext.jsonl')], envB);
    expect(impB.code, impB.stderr).toBe(0);
    expect(diagnostics(impB)).toContain('imported 3, already present 0, refused 0');
    const crl = await runCertgate(['crl', 'generate', '--issuer', 'ext'], envB);
    expect(crl.code, crl.stderr).toBe(0);
    const url = (await runCertgate(['crl', 'show', '--issuer', 'ext'], envB)).stdout;
    expect(JSON.parse(url).entries).toBe(1);
    const list = JSON.parse((await runCertgate(['cert', 'list', '--status', 'revoked', '--json'], envB)).stdout);
    expect(list.items.map((x: { serial: string }) => x.serial.replace(/^0+/, ''))).toEqual([serials[1]]);
  });
});
