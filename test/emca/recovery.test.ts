/**
 * emCA key recovery: an officer requests the re-issue of a kept PKCS#12 under a new password,
 * another officer approves; openssl opens the result with the new password only, the key is the
 * same, and the application's getPKCS12 follows the new password. Audited.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerEmcaRecoveryCommands } from '../../protocols/emca/recovery-cli.ts';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.ts';
import type { Context } from '../../src/context.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, call, cmsSign, makeApp, openssl, opensslTry, register, removeTempDirs, tempDir, type Registered } from './helpers.ts';

afterAll(() => removeTempDirs());

async function operatorToken(ctx: Context, name: string, role: 'officer' | 'auditor' | 'administrator'): Promise<string> {
  const op = await ctx.tokens.ensureOperator(name, role);
  return ctx.tokens.issue(op, 3600);
}

for (const driver of drivers) {
  describe(`emCA key recovery (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let client: Registered;
    let officerA: string;
    let officerB: string;
    const env = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
    const admin = async (path: string, token: string, body?: unknown) => {
      const r = await app.request(`/api/v1/emca${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }, env);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    /** `openssl pkcs12 -info -noout` with a password; the key's public half as PEM when it opens. */
    const open = (pfx: Buffer, pass: string) => {
      const d = tempDir();
      const p = join(d, 'k.p12');
      writeFileSync(p, pfx);
      const info = opensslTry(['pkcs12', '-info', '-noout', '-in', p, '-passin', `pass:${pass}`]);
      if (info.status !== 0) return { ok: false, info: info.out, pub: '' };
      const key = openssl(['pkcs12', '-in', p, '-passin', `pass:${pass}`, '-nocerts', '-nodes']);
      const pub = openssl(['pkey', '-pubout'], key).toString();
      return { ok: true, info: info.out, pub };
    };

    beforeAll(async () => {
      t = await makeTestContext(driver);
      app = await makeApp(t.ctx);
      client = await register(app, await adminToken(t.ctx), { name: 'kr-app', ips: ['127.0.0.0/8'] });
      officerA = await operatorToken(t.ctx, 'officer-a', 'officer');
      officerB = await operatorToken(t.ctx, 'officer-b', 'officer');
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    async function createPkcs12(password: string, legacy = false): Promise<{ pfx: Buffer; serial: string }> {
      const content = `CN=Recover Me~O=Acme~KeyAlogirthmAndSize=${legacy ? 'RSA-2048' : 'EC-P256'}~Password=${password}`;
      const r = await call(app, client, 'createPKCS12', { signature: cmsSign(content, client), profileName: 'tls-client', subscriberId: 'kr', applicationId: `kr-${Math.random()}` });
      expect(r.body.status).toBe('success');
      const pfx = Buffer.from(r.body.result!, 'base64');
      const d = tempDir();
      writeFileSync(join(d, 'c.p12'), pfx);
      const serial = openssl(['pkcs12', '-in', join(d, 'c.p12'), '-passin', `pass:${password}`, '-nokeys', '-clcerts']);
      const s = openssl(['x509', '-noout', '-serial'], serial).toString().trim().replace(/^serial=/, '');
      return { pfx, serial: s };
    }

    it('request by one officer, approval by another: the same key under the new password; getPKCS12 follows it', async () => {
      const { pfx, serial } = await createPkcs12('old-pass-1');
      const before = open(pfx, 'old-pass-1');
      expect(before.ok).toBe(true);

      const req = await admin('/key-recoveries', officerA, { serialNumber: serial, reason: 'user lost the PFX password', newPassword: 'New Pass 2' });
      expect(req.status).toBe(201);
      expect(req.body).toMatchObject({ status: 'pending', requestedBy: 'operator:officer-a' });
      const id = req.body.id as string;
      expect(JSON.stringify(req.body)).not.toContain('New Pass 2');

      // The requester cannot approve; an auditor cannot either.
      expect((await admin(`/key-recoveries/${id}/approve`, officerA, {})).status).toBe(403);
      expect((await admin(`/key-recoveries/${id}/approve`, await operatorToken(t.ctx, 'aud', 'auditor'), {})).status).toBe(403);

      const ok = await admin(`/key-recoveries/${id}/approve`, officerB, {});
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ status: 'approved', decidedBy: 'operator:officer-b' });
      const recovered = Buffer.from(ok.body.pkcs12 as string, 'base64');
      const after = open(recovered, 'New Pass 2');
      expect(after.ok).toBe(true);
      expect(after.info).toMatch(/PKCS7 Encrypted data|Shrouded Keybag/);
      expect(after.pub).toBe(before.pub);
      expect(open(recovered, 'old-pass-1').ok).toBe(false);
      // Approved once only.
      expect((await admin(`/key-recoveries/${id}/approve`, officerB, {})).status).toBe(409);

      // The application's getPKCS12: the new password opens it, the old one is refused.
      const get = (pin: string) => call(app, client, 'getPKCS12', { signature: cmsSign(`{'pfxPin': '${pin}','serialNumber':'${serial}','subscriberId':'kr'}`, client) });
      const viaApi = await get('New Pass 2');
      expect(viaApi.body.status).toBe('success');
      expect(open(Buffer.from(viaApi.body.result!, 'base64'), 'New Pass 2').pub).toBe(before.pub);
      expect((await get('old-pass-1')).body.result).toBe('Invalid PFX password');
    });

    it('recovery with the old password (legacy 3DES PFX kept as such); reject; bad requests', async () => {
      const patched = await app.request(`/api/v1/emca/clients/kr-app`, { method: 'PATCH', headers: { Authorization: `Bearer ${await adminToken(t.ctx)}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ legacyPfx: true }) }, env);
      expect(patched.status).toBe(200);
      const { pfx, serial } = await createPkcs12('legacy-pw', true);
      expect(open(pfx, 'legacy-pw').info).toMatch(/des-ede3/i);
      const req = await admin('/key-recoveries', officerB, { serialNumber: serial, reason: 'restore a copy' });
      const ok = await admin(`/key-recoveries/${req.body.id as string}/approve`, officerA, {});
      expect(ok.status).toBe(200);
      const again = open(Buffer.from(ok.body.pkcs12 as string, 'base64'), 'legacy-pw');
      expect(again.ok).toBe(true);
      expect(again.pub).toBe(open(pfx, 'legacy-pw').pub);
      expect(again.info).toMatch(/des-ede3/i);

      const r2 = await admin('/key-recoveries', officerA, { serialNumber: serial, reason: 'second', newPassword: 'another-1' });
      const rej = await admin(`/key-recoveries/${r2.body.id as string}/reject`, officerB, {});
      expect(rej.body.status).toBe('rejected');
      expect((await admin(`/key-recoveries/${r2.body.id as string}/approve`, officerB, {})).status).toBe(409);

      expect((await admin('/key-recoveries', officerA, { serialNumber: 'abcdef0123', reason: 'x' })).status).toBe(404);
      expect((await admin('/key-recoveries', officerA, { serialNumber: serial })).status).toBe(400);
      expect((await admin('/key-recoveries', officerA, { serialNumber: serial, reason: 'x', newPassword: 'a' })).status).toBe(400);
      expect((await admin('/key-recoveries', officerA, { serialNumber: 'zz', reason: 'x' })).status).toBe(400);
      expect((await admin('/key-recoveries', await operatorToken(t.ctx, 'aud2', 'auditor'), { serialNumber: serial, reason: 'x' })).status).toBe(403);
      const list = await admin('/key-recoveries', officerA);
      expect((list.body.recoveries as unknown[]).length).toBe(3);
    });

    it('the CLI: emca-key-recovery request (officer A), approve --out (officer B), list', async () => {
      const { pfx, serial } = await createPkcs12('cli-old-pw');
      const out: string[] = [];
      const errs: string[] = [];
      const cli = (token: string) => {
        const program = new Command('certgate').exitOverride();
        registerEmcaRecoveryCommands(program, () => t.config, async () => ({
          async call(method: string, path: string, body?: unknown) {
            const res = await app.request(`/api/v1${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }, env);
            return { status: res.status, body: (await res.json()) as never };
          },
          async close() {},
        }));
        return program;
      };
      const log = console.log;
      const error = console.error;
      console.log = (m: string) => void out.push(m);
      console.error = (m: string) => void errs.push(m);
      try {
        const d = tempDir();
        writeFileSync(join(d, 'pw'), 'cli new pw\n');
        await cli(officerA).parseAsync(['node', 'certgate', 'emca-key-recovery', 'request', '--serial', serial, '--reason', 'cli', '--new-password-file', join(d, 'pw'), '--json']);
        const id = (JSON.parse(out.pop()!) as { id: string }).id;
        await cli(officerA).parseAsync(['node', 'certgate', 'emca-key-recovery', 'approve', id, '--out', join(d, 'r.p12')]);
        expect(errs.pop()).toMatch(/cannot approve/);
        expect(process.exitCode).toBe(2);
        process.exitCode = 0;
        await cli(officerB).parseAsync(['node', 'certgate', 'emca-key-recovery', 'approve', id, '--out', join(d, 'r.p12')]);
        expect(out.pop()).toMatch(/approved/);
        const recovered = open(readFileSync(join(d, 'r.p12')), 'cli new pw');
        expect(recovered.ok).toBe(true);
        expect(recovered.pub).toBe(open(pfx, 'cli-old-pw').pub);
        await cli(officerB).parseAsync(['node', 'certgate', 'emca-key-recovery', 'list', '--json']);
        expect((JSON.parse(out.pop()!) as { id: string; status: string }[]).find((r) => r.id === id)?.status).toBe('approved');
      } finally {
        console.log = log;
        console.error = error;
        process.exitCode = 0;
      }
    });

    it('audits request, approval and rejection', async () => {
      expect(await t.ctx.audit.search({ action: 'emca.key-recovery.requested' })).toHaveLength(4);
      const approved = await t.ctx.audit.search({ action: 'emca.key-recovery.approved' });
      expect(approved).toHaveLength(3);
      expect(approved.map((a) => a.actor).sort()).toEqual(['operator:officer-a', 'operator:officer-b', 'operator:officer-b']);
      expect(await t.ctx.audit.search({ action: 'emca.key-recovery.rejected' })).toHaveLength(1);
      expect(JSON.stringify(approved)).not.toMatch(/New Pass 2|legacy-pw|cli new pw/);
    });
  });
}
