/**
 * `certgate init` for production, as an operator runs the compiled CLI: the operator's own root
 * and issuing CA (checked by `openssl x509`/`openssl verify`), an existing CA imported from an
 * encrypted PEM key or a PKCS#12 file made by openssl, no development hierarchy in either case;
 * and the serve banner on stderr (stdout only JSON log lines) warning without CERTGATE_PUBLIC_URL.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, diagnostics, runCertgate } from '../support/cli.ts';
import { drivers, makeTestEnv, type TestEnv } from '../support/context.ts';

const ossl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.each(drivers)('certgate init, production (%s)', { timeout: 300_000 }, (driver) => {
  const envs: TestEnv[] = [];
  const fresh = async () => {
    const t = await makeTestEnv(driver);
    envs.push(t);
    return { t, env: cliEnv(t.dataDir, t.databaseUrl) };
  };
  afterAll(async () => {
    for (const t of envs) await t.cleanup();
  });

  it('creates the operator\'s root and issuing CA (key type, names, validity, path length, URLs); no dev CAs; issues under them', async () => {
    const { t, env } = await fresh();
    const r = await runCertgate(
      ['init', '--key-type', 'rsa-3072', '--root-subject', 'CN=Acme Root CA,O=Acme', '--root-validity-days', '3650', '--issuing-subject', 'CN=Acme Issuing CA,O=Acme',
        '--issuing-validity-days', '1000', '--path-length', '0', '--public-url', 'https://ca.acme.test/'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('created root CA root');
    expect(r.stdout).toContain('created issuing CA issuing');
    const list = JSON.parse((await runCertgate(['issuer', 'list', '--json'], env)).stdout) as { id: string; isDefault: boolean }[];
    expect(list.map((i) => i.id).sort()).toEqual(['issuing', 'root']);
    expect(list.find((i) => i.id === 'issuing')!.isDefault).toBe(true);

    const chain = (await runCertgate(['issuer', 'show', 'issuing', '--pem'], env)).stdout;
    const certs = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
    writeFileSync(join(t.dataDir, 'issuing.pem'), certs[0]);
    writeFileSync(join(t.dataDir, 'root-ca.pem'), certs[certs.length - 1]);
    const text = ossl(['x509', '-in', 'issuing.pem', '-noout', '-text'], t.dataDir);
    expect(text).toContain('Public-Key: (3072 bit)');
    expect(text).toMatch(/Subject: .*CN\s?=\s?Acme Issuing CA/);
    expect(text).toMatch(/CA:TRUE, pathlen:0/);
    expect(text).toContain('URI:https://ca.acme.test/crl/root.crl');
    expect(text).toContain('OCSP - URI:https://ca.acme.test/ocsp');
    const days = (Date.parse(ossl(['x509', '-in', 'issuing.pem', '-noout', '-enddate'], t.dataDir).split('=')[1]) - Date.now()) / 86400_000;
    expect(Math.round(days)).toBe(1000);
    expect(ossl(['verify', '-CAfile', 'root-ca.pem', 'issuing.pem'], t.dataDir)).toContain('issuing.pem: OK');

    // A leaf issued under the new hierarchy verifies to the new root.
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=www.acme.test', '-addext', 'subjectAltName=DNS:www.acme.test'], t.dataDir);
    const leaf = await runCertgate(['cert', 'issue', '--csr', join(t.dataDir, 'leaf.csr'), '--profile', 'tls-server'], env);
    expect(leaf.code, leaf.stderr).toBe(0);
    writeFileSync(join(t.dataDir, 'leaf.pem'), leaf.stdout);
    expect(ossl(['verify', '-CAfile', 'root-ca.pem', '-untrusted', 'issuing.pem', 'leaf.pem'], t.dataDir)).toContain('leaf.pem: OK');

    const again = await runCertgate(['init', '--root-name', 'Other Root', '--issuing-name', 'Other Issuing'], env);
    expect(again.code).toBe(2);
    expect(diagnostics(again)).toContain('already holds CAs (');
  });

  it('imports an existing CA with an encrypted PEM key (wrong password refused), and from PKCS#12', async () => {
    const { t, env } = await fresh();
    const d = t.dataDir;
    // An offline root (stays here) and the subordinate CA to import, its key encrypted.
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', 'root.key', '-out', 'offline-root.pem', '-days', '3650',
      '-subj', '/O=Existing/CN=Offline Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d);
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-keyout', 'ca.key', '-passout', 'pass:s3cret', '-out', 'ca.csr', '-subj', '/O=Existing/CN=Existing CA'], d);
    writeFileSync(join(d, 'ca.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    ossl(['x509', '-req', '-in', 'ca.csr', '-CA', 'offline-root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '1825', '-extfile', 'ca.ext', '-out', 'ca.pem'], d);
    expect(readFileSync(join(d, 'ca.key'), 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    writeFileSync(join(d, 'wrong'), 'nope\n');
    const wrong = await runCertgate(['init', '--import-cert', join(d, 'ca.pem'), '--import-key', join(d, 'ca.key'), '--password-file', join(d, 'wrong')], env);
    expect(wrong.code).toBe(2);
    expect(diagnostics(wrong)).toContain('could not be decrypted');
    expect(diagnostics(wrong)).not.toContain('s3cret');

    writeFileSync(join(d, 'pw'), 's3cret\n');
    const ok = await runCertgate(['init', '--import-cert', join(d, 'ca.pem'), '--import-key', join(d, 'ca.key'), '--password-file', join(d, 'pw'), '--import-id', 'existing'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const list = JSON.parse((await runCertgate(['issuer', 'list', '--json'], env)).stdout) as { id: string; subject: string; isDefault: boolean }[];
    expect(list).toEqual([expect.objectContaining({ id: 'existing', isDefault: true, subject: expect.stringContaining('Existing CA') })]);
    // It signs at once; the leaf verifies to the offline root.
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=app.existing.test', '-addext', 'subjectAltName=DNS:app.existing.test'], d);
    const leaf = await runCertgate(['cert', 'issue', '--csr', join(d, 'leaf.csr'), '--profile', 'tls-server'], env);
    expect(leaf.code, leaf.stderr).toBe(0);
    writeFileSync(join(d, 'leaf.pem'), leaf.stdout);
    expect(ossl(['verify', '-CAfile', 'offline-root.pem', '-untrusted', 'ca.pem', 'leaf.pem'], d)).toContain('leaf.pem: OK');

    const p = await fresh();
    // The PKCS#12 holds the chain too: the CA certificate is the one matching the key.
    ossl(['pkcs12', '-export', '-in', 'ca.pem', '-certfile', 'offline-root.pem', '-inkey', 'ca.key', '-passin', 'pass:s3cret', '-passout', 'pass:p12pass', '-out', 'ca.p12'], d);
    const p12 = await runCertgate(['init', '--import-p12', join(d, 'ca.p12')], { ...p.env, CERTGATE_INIT_PASSWORD: 'p12pass' });
    expect(p12.code, p12.stderr).toBe(0);
    expect(p12.stdout).toContain('imported issuer issuing');
    const shown = (await runCertgate(['issuer', 'show', 'issuing', '--pem'], p.env)).stdout;
    // The same certificate as openssl put in: compare fingerprints.
    writeFileSync(join(d, 'shown.pem'), shown);
    const fp = (f: string) => ossl(['x509', '-in', f, '-noout', '-fingerprint', '-sha256'], d);
    expect(fp('shown.pem')).toBe(fp('ca.pem'));
  });
});

describe('certgate serve banner', { timeout: 180_000 }, () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await makeTestEnv('pglite');
  });
  afterAll(() => t.cleanup());

  it('goes to stderr (stdout holds only JSON log lines) and warns without CERTGATE_PUBLIC_URL', async () => {
    const { CERTGATE_PUBLIC_URL: _u, ...env } = cliEnv(t.dataDir);
    const child = spawn(process.execPath, [join(import.meta.dirname, '../../bin/certgate.mjs'), 'serve', '--no-https'], { env: { ...env, CERTGATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const deadline = Date.now() + 90_000;
    while (!err.includes('root certificate (PEM)') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('Certgate is running');
    expect(err).toContain('WARNING: CERTGATE_PUBLIC_URL is not set');
    const lines = out.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(existsSync(join(t.dataDir, 'root.pem'))).toBe(true);
  });
});
