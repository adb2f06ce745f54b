/**
 * The web console in a real browser (Debian chromium driven by playwright-core) against a real
 * server with every protocol mounted: sign in with a password, find a certificate, revoke it and
 * see it revoked (and openssl ocsp agrees), approve a pending request, an auditor gets no
 * mutating button and the API refuses it anyway, a phone-width viewport renders, the CSP holds.
 * Screenshots of each page go to .tmp/console-screenshots/ as test artifacts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocols } from '../../protocols/index.ts';
import { toPem } from '../../src/pki/pem.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, opensslAsync, opensslOk, removeTempDirs, tempDir } from '../support/openssl.ts';

const CHROMIUM = '/usr/bin/chromium';
const shots = join(import.meta.dirname, '../../.tmp/console-screenshots');
const PASSWORD = 'officer password 1234';
/** Runs in the page: how far the document is wider than the viewport (node's types have no DOM). */
const sidewaysOverflow = () => {
  const g = globalThis as any;
  return (g.document.documentElement.scrollWidth as number) - (g.innerWidth as number);
};

afterAll(() => removeTempDirs());

describe.each(drivers)('web console in chromium (%s)', (driver) => {
  let t: TestContext;
  let server: RunningServer;
  let browser: Browser;
  let url: string;
  let adminToken: string;
  let auditorToken: string;
  const problems: string[] = [];
  const dir = tempDir('certgate-console-');

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as any };
  };

  const issue = async (cn: string, profile = 'tls-server') => {
    const csr = makeCsr({ subject: `/CN=${cn}`, sans: [`DNS:${cn}`], dir });
    return t.ctx.pipeline.issue({ principal: { id: 'test:console', protocol: 'internal', authenticatedBy: 'local' }, profile, key: { kind: 'csr', der: csr.der } });
  };

  /** A fresh browser context and page that records console errors and CSP violations. */
  const openPage = async (viewport = { width: 1280, height: 900 }): Promise<{ ctx: BrowserContext; page: Page }> => {
    const ctx = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    return { ctx, page };
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${driver}-${name}.png`), fullPage: true });

  const passwordLogin = async (page: Page, user: string, password: string) => {
    await page.goto(`${url}/console/`);
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  };
  const tokenLogin = async (page: Page, token: string) => {
    await page.goto(`${url}/console/`);
    await page.getByLabel('Operator token').fill(token);
    await page.getByRole('button', { name: 'Sign in with token' }).click();
    await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  };

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    t = await makeTestContext(driver);
    server = await startServer(t.ctx, protocols, { https: false });
    url = server.httpUrl;
    adminToken = await t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator('console-admin', 'administrator'), 3600);
    auditorToken = await t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator('console-auditor', 'auditor'), 3600);
    await t.ctx.profiles.create({ ...(await t.ctx.profiles.get('tls-server')), name: 'manual-approval', manualApproval: true });
    expect((await api(adminToken, 'POST', '/operators', { name: 'olivia', role: 'officer' })).status).toBe(201);
    expect((await api(adminToken, 'PUT', '/operators/olivia/password', { password: PASSWORD })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await t?.cleanup();
  });

  it('serves the page with a strict CSP, the vendor modules from node_modules, and nothing from elsewhere', async () => {
    const res = await fetch(`${url}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const f of ['preact.mjs', 'preact-hooks.mjs', 'htm.mjs']) {
      const v = await fetch(`${url}/console/vendor/${f}`);
      expect(v.status, f).toBe(200);
      expect(v.headers.get('content-type')).toMatch(/^text\/javascript/);
    }
    expect((await fetch(`${url}/console/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/console/nope.js`)).status).toBe(404);
  });

  it('an officer signs in with a password, finds a certificate, revokes it; the API and openssl ocsp agree', async () => {
    const cn = `revoke-me-${driver}.example`;
    const issued = await issue(cn);
    if (issued.status !== 'issued') throw new Error('fixture not issued');
    await issue(`keep-${driver}.example`);
    const { ctx, page } = await openPage();
    try {
      await passwordLogin(page, 'olivia', PASSWORD);
      await expect.poll(() => page.locator('[data-role]').textContent()).toBe('officer');
      await page.getByText('Issued per day, by protocol').waitFor();
      await shot(page, 'dashboard');

      await page.getByRole('link', { name: 'Certificates', exact: true }).click();
      await page.getByLabel('Subject').fill(cn);
      await page.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => page.getByText('1 certificate', { exact: true }).count()).toBe(1);
      expect(await page.getByLabel('Subject').inputValue()).toBe(cn);
      await shot(page, 'certificates');
      await page.getByRole('link', { name: `CN=${cn}` }).click();
      await page.getByRole('heading', { name: 'Decoded certificate' }).waitFor();

      // The decoded view says what openssl says of the same certificate.
      const pem = toPem(issued.certificate.der, 'CERTIFICATE');
      const serial = opensslOk(['x509', '-noout', '-serial'], { input: pem }).trim().split('=')[1].toLowerCase().replace(/^0+/, '');
      const decoded = page.locator('[data-decoded]');
      await expect.poll(() => decoded.textContent()).toContain(serial);
      expect(await decoded.textContent()).toContain(`DNS:${cn}`);
      expect(await decoded.textContent()).toContain('serverAuth');
      await shot(page, 'certificate');

      // Downloads: the DER file is the certificate (openssl reads it), the chain ends at the root.
      const [der] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download DER' }).click()]);
      await der.saveAs(join(dir, 'download.der'));
      expect(opensslOk(['x509', '-inform', 'DER', '-in', join(dir, 'download.der'), '-noout', '-serial']).toLowerCase()).toContain(serial);
      const [chain] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download chain' }).click()]);
      await chain.saveAs(join(dir, 'chain.pem'));
      expect(readFileSync(join(dir, 'chain.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(3);

      // Suspend, then reinstate: each asks first, and the badge follows.
      await page.getByRole('button', { name: 'Suspend' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Suspend' }).click();
      await page.locator('.badge.hold').waitFor();
      expect((await api(adminToken, 'GET', `/certificates/${issued.certificate.id}`)).body.status).toBe('hold');
      await page.getByRole('button', { name: 'Reinstate' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Reinstate' }).click();
      await page.locator('.badge.valid').waitFor();

      // Cancel changes nothing.
      await page.getByRole('button', { name: 'Revoke' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      expect((await api(adminToken, 'GET', `/certificates/${issued.certificate.id}`)).body.status).toBe('valid');

      await page.getByRole('button', { name: 'Revoke' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Reason').selectOption('keyCompromise');
      await shot(page, 'revoke-dialog');
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await page.locator('.badge.revoked').waitFor();
      expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);

      const row = await api(adminToken, 'GET', `/certificates/${issued.certificate.id}`);
      expect(row.body.status).toBe('revoked');
      expect(row.body.revocationReason).toBe('keyCompromise');
      const audit = await api(adminToken, 'GET', `/audit?actor=operator:olivia`);
      expect(audit.body.map((a: any) => a.action)).toContain('operator.login');

      writeFileSync(join(dir, 'leaf.pem'), pem);
      const issuer = (await t.ctx.issuers.get(issued.certificate.issuerId))!;
      writeFileSync(join(dir, 'issuing.pem'), toPem(issuer.certDer, 'CERTIFICATE'));
      writeFileSync(join(dir, 'root.pem'), toPem(issuer.chain[issuer.chain.length - 1], 'CERTIFICATE'));
      const ocsp = await opensslAsync(['ocsp', '-issuer', join(dir, 'issuing.pem'), '-cert', join(dir, 'leaf.pem'), '-url', `${url}/ocsp`, '-CAfile', join(dir, 'root.pem')]);
      expect(ocsp.output).toMatch(/leaf\.pem: revoked/);
      expect(ocsp.output).toMatch(/Reason: keyCompromise/);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('an officer approves a pending request; the request is issued', async () => {
    const cn = `approve-me-${driver}.example`;
    const held = await issue(cn, 'manual-approval');
    if (held.status !== 'pending') throw new Error('fixture not pending');
    const { ctx, page } = await openPage();
    try {
      await passwordLogin(page, 'olivia', PASSWORD);
      await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Pending requests' }).click();
      const row = page.getByRole('row').filter({ hasText: cn });
      await row.waitFor();
      await shot(page, 'requests');
      await row.getByRole('button', { name: `Approve CN=${cn}`, exact: true }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => page.getByRole('row').filter({ hasText: cn }).count()).toBe(0);
      const r = await api(adminToken, 'GET', `/requests/${held.requestId}`);
      expect(r.body.status).toBe('issued');
      expect(r.body.certificate.subject).toBe(`CN=${cn}`);
      expect(r.body.decidedBy).toBe('operator:olivia');
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('an auditor sees no button that changes anything, and the API refuses the revocation anyway', async () => {
    const issued = await issue(`auditor-view-${driver}.example`);
    if (issued.status !== 'issued') throw new Error('fixture not issued');
    await issue(`auditor-pending-${driver}.example`, 'manual-approval');
    const { ctx, page } = await openPage();
    try {
      await tokenLogin(page, auditorToken);
      await page.goto(`${url}/console/#/certificates/${issued.certificate.id}`);
      await page.getByRole('heading', { name: 'Decoded certificate' }).waitFor();
      for (const name of ['Revoke', 'Suspend', 'Reinstate']) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
      await shot(page, 'auditor-certificate');
      expect(await page.getByRole('button', { name: 'Download PEM' }).count()).toBe(1);
      await page.goto(`${url}/console/#/requests`);
      await page.getByRole('row').filter({ hasText: `auditor-pending-${driver}` }).waitFor();
      for (const name of ['Approve', 'Reject']) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
      await shot(page, 'auditor-requests');
      await page.goto(`${url}/console/#/issuers`);
      await page.getByRole('heading', { name: /dev-issuing/ }).waitFor();
      expect(await page.getByRole('button', { name: /^Generate a CRL/ }).count()).toBe(0);
      await page.goto(`${url}/console/#/profiles?name=tls-server`);
      await page.getByRole('heading', { name: /tls-server/ }).waitFor();
      expect(await page.getByRole('button', { name: /Save|Delete|Create/ }).count()).toBe(0);

      // The same call the officer's button makes, from the auditor's page: refused.
      const status = await page.evaluate(
        async ([serial, token]) => (await fetch(`/api/v1/certificates/${serial}/revoke`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' })).status,
        [issued.certificate.serial, auditorToken],
      );
      expect(status).toBe(403);
      expect((await api(adminToken, 'GET', `/certificates/${issued.certificate.id}`)).body.status).toBe('valid');
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('every page renders for an administrator (screenshots), and a wrong password is refused', async () => {
    const { ctx, page } = await openPage();
    try {
      await page.goto(`${url}/console/`);
      await page.getByLabel('Username').fill('olivia');
      await page.getByLabel('Password', { exact: true }).fill('not the password!');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
      await shot(page, 'login');
      await tokenLogin(page, adminToken);
      const pages: [string, string, RegExp | string][] = [
        ['issuers', 'Issuers & CRLs', /dev-issuing/],
        ['profiles', 'Profiles', 'tls-server'],
        ['clients', 'Protocol clients', 'CMP shared secrets'],
        ['operators', 'Operators & tokens', 'olivia'],
        ['audit', 'Audit log', 'operator.password'],
      ];
      for (const [hash, title, text] of pages) {
        await page.goto(`${url}/console/#/${hash}`);
        await page.getByRole('heading', { name: title, level: 1 }).waitFor();
        await page.locator('main').getByText(text).first().waitFor();
        await shot(page, hash);
        // The buttons the auditor must not see are there for an administrator (the negative checks are not vacuous).
        if (hash === 'issuers') expect(await page.getByRole('button', { name: 'Generate a CRL for dev-issuing now' }).count()).toBe(1);
        if (hash === 'profiles') expect(await page.getByRole('link', { name: 'New profile' }).count()).toBe(1);
      }
      // A protocol client made in the console: the secret is shown once, the API lists the reference.
      await page.goto(`${url}/console/#/clients`);
      await page.getByRole('button', { name: 'New CMP secret' }).click();
      await page.getByRole('dialog').getByLabel('Reference').fill(`console-ref-${driver}`);
      await page.getByRole('dialog').getByRole('button', { name: 'New CMP secret' }).click();
      await page.getByText('CMP shared secret', { exact: true }).waitFor();
      expect(await page.locator('.secret pre').textContent()).toMatch(/"secret"/);
      await shot(page, 'clients-secret');
      const listed = await api(adminToken, 'GET', '/cmp/secrets');
      expect(listed.body.secrets.map((x: any) => x.ref)).toContain(`console-ref-${driver}`);

      // A profile edit by an administrator goes through the API.
      await page.getByRole('link', { name: 'Profiles' }).click();
      await page.getByRole('link', { name: 'New profile' }).click();
      await page.getByLabel('Definition (JSON)').fill(JSON.stringify({ name: `console-${driver}`, description: 'made in the console' }));
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { name: `console-${driver}` }).waitFor();
      expect((await api(adminToken, 'GET', `/profiles/console-${driver}`)).body.description).toBe('made in the console');
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('renders at phone width without sideways scrolling', async () => {
    const { ctx, page } = await openPage({ width: 390, height: 844 });
    try {
      await tokenLogin(page, adminToken);
      await page.getByText('Issued per day, by protocol').waitFor();
      await shot(page, 'phone-dashboard');
      const overflow = await page.evaluate(sidewaysOverflow);
      expect(overflow).toBeLessThanOrEqual(1);
      await page.getByRole('link', { name: 'Certificates', exact: true }).click();
      await page.getByRole('button', { name: 'Search' }).waitFor();
      await shot(page, 'phone-certificates');
      expect(await page.evaluate(sidewaysOverflow)).toBeLessThanOrEqual(1);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('keyboard only: tab to the sign-in fields and submit with Enter', async () => {
    const { ctx, page } = await openPage();
    try {
      await page.goto(`${url}/console/`);
      await page.getByLabel('Username').waitFor();
      await page.keyboard.press('Tab');
      // The page heading takes focus first; the first tab lands on the username.
      const focused = async () => page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute('name') as string | undefined);
      for (let i = 0; i < 4 && (await focused()) !== 'username'; i++) await page.keyboard.press('Tab');
      expect(await focused()).toBe('username');
      await page.keyboard.type('olivia');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('no script error and no CSP violation on any page', () => {
    expect(problems).toEqual([]);
  });
});
