/**
 * Authorization reuse (RFC 8555 §7.1.3, as Boulder and Pebble offer it; CERTGATE_ACME_AUTHZ_REUSE):
 * a new order names the account's valid authorizations instead of fresh ones, on both drivers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acmeAuthorizations, acmeChallenges } from '../../protocols/acme/schema.ts';
import { loadAcmeSettings } from '../../protocols/acme/settings.ts';
import { fromPem, toPem } from '../../src/pki/pem.ts';
import { drivers, type TestContext } from '../support/context.ts';
import { makeCsr, openssl, opensslOk, tempDir } from '../support/openssl.ts';
import { AcmeClient, Http01Responder, completeOrder, newKey, type Fetch } from './client.ts';
import { startAcme, type AcmeHarness } from './harness.ts';

const BASE = 'http://acme.test';
const LOCALHOST = { type: 'dns', value: 'localhost' };
const IPV6 = { type: 'ip', value: '::1' };

describe.each(drivers)('ACME authorization reuse (%s)', (driver) => {
  let h: AcmeHarness;
  let t: TestContext;
  let fetchFn: Fetch;
  let responder: Http01Responder;
  let client: AcmeClient;
  let rootFile: string;

  const newClient = async () => new AcmeClient(`${BASE}/acme/directory`, await newKey('ES256'), fetchFn).init();
  const idOf = (url: string) => url.split('/').pop()!;
  const rows = async () => ({
    authzs: (await t.ctx.db.select({ n: count() }).from(acmeAuthorizations))[0].n,
    challenges: (await t.ctx.db.select({ n: count() }).from(acmeChallenges))[0].n,
  });
  /** Validates the http-01 challenge of every pending authorization of an order. */
  const validate = async (c: AcmeClient, authzUrls: string[]) => {
    for (const url of authzUrls) {
      const a = await c.get(url);
      if (a.json.status !== 'pending') continue;
      const ch = a.json.challenges.find((x: any) => x.type === 'http-01');
      responder.tokens.set(ch.token, c.keyAuthorization(ch.token));
      await c.post(ch.url, {});
      expect((await c.poll(url)).json.status).toBe('valid');
    }
  };

  beforeAll(async () => {
    h = await startAcme(driver, { authzReuse: true, authzReuseMinSeconds: 3600 }, '::');
    ({ t, fetchFn, responder } = h);
    const dir = tempDir('certgate-acme-reuse-');
    rootFile = join(dir, 'root.pem');
    writeFileSync(rootFile, t.ctx.issuers.list().filter((i) => i.isRoot).map((i) => toPem(i.certDer, 'CERTIFICATE')).join(''));
  });
  beforeEach(async () => {
    // A new account per test: its authorizations are its own.
    client = await newClient();
    expect((await client.newAccount()).status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is off unless set, and read from CERTGATE_ACME_AUTHZ_REUSE; its lookup index exists', async () => {
    expect(loadAcmeSettings({}).authzReuse).toBe(false);
    expect(loadAcmeSettings({ CERTGATE_ACME_AUTHZ_REUSE: 'true', CERTGATE_ACME_AUTHZ_REUSE_MIN_REMAINING: '600' })).toMatchObject({ authzReuse: true, authzReuseMinSeconds: 600 });
    const [index] = await t.ctx.database.query<{ def: string; valid: boolean }>(
      `select pg_get_indexdef(i.indexrelid) as def, i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'acme_authz_account_idx'`,
      [],
    );
    expect(index).toMatchObject({ valid: true, def: expect.stringContaining('(account_id, identifier_value)') });
  });

  it('an order for names already validated is ready at once, names those authorizations, expires with them, and issues without a challenge', async () => {
    const first = await completeOrder(client, responder, [LOCALHOST, IPV6], makeCsr({ sans: ['DNS:localhost', 'IP:::1'] }).der);
    const firstOrder = (await client.get(first.orderUrl)).json;
    const before = await rows();
    const validations = responder.requests;

    const o = await client.newOrder([IPV6, LOCALHOST]);
    expect(o.status).toBe(201);
    expect(o.json.status).toBe('ready');
    // In the order of the new order's identifiers.
    expect(o.json.authorizations).toEqual([firstOrder.authorizations[1], firstOrder.authorizations[0]]);
    const authzExpiry = Math.min(...(await Promise.all(o.json.authorizations.map(async (u: string) => Date.parse((await client.get(u)).json.expires)))));
    expect(Date.parse(o.json.expires)).toBeLessThanOrEqual(authzExpiry);
    expect((await client.get(o.location!)).json).toMatchObject({ status: 'ready', authorizations: o.json.authorizations });
    expect(await rows()).toEqual(before);

    const f = await client.post(o.json.finalize, { csr: makeCsr({ sans: ['DNS:localhost', 'IP:::1'] }).der.toString('base64url') });
    expect(f.json.status).toBe('valid');
    const pem = (await client.get(f.json.certificate)).text;
    expect(responder.requests).toBe(validations);
    const certs = fromPem(pem, 'CERTIFICATE');
    const dir = tempDir('certgate-acme-reuse-');
    writeFileSync(join(dir, 'leaf.pem'), toPem(certs[0], 'CERTIFICATE'));
    writeFileSync(join(dir, 'chain.pem'), certs.slice(1).map((d) => toPem(d, 'CERTIFICATE')).join(''));
    const v = openssl(['verify', '-CAfile', rootFile, '-untrusted', join(dir, 'chain.pem'), '-purpose', 'sslserver', join(dir, 'leaf.pem')]);
    expect(v.status, v.output).toBe(0);
    expect(opensslOk(['x509', '-noout', '-ext', 'subjectAltName'], { input: toPem(certs[0], 'CERTIFICATE') })).toMatch(/DNS:localhost.*IP Address:0:0:0:0:0:0:0:1|IP Address:0:0:0:0:0:0:0:1.*DNS:localhost/s);
  });

  it('mixes reused and fresh authorizations: the order is ready once the fresh one is valid', async () => {
    await completeOrder(client, responder, [LOCALHOST], makeCsr({ sans: ['DNS:localhost'] }).der);
    const o = await client.newOrder([LOCALHOST, IPV6]);
    expect(o.json.status).toBe('pending');
    const [reused, fresh] = await Promise.all(o.json.authorizations.map((u: string) => client.get(u)));
    expect(reused.json.status).toBe('valid');
    expect(fresh.json.status).toBe('pending');
    await validate(client, [o.json.authorizations[1]]);
    expect((await client.get(o.location!)).json.status).toBe('ready');
    const f = await client.post(o.json.finalize, { csr: makeCsr({ sans: ['DNS:localhost', 'IP:::1'] }).der.toString('base64url') });
    expect(f.json.status).toBe('valid');
  });

  it('reuses neither another account\'s authorizations nor one that is deactivated or ends too soon', async () => {
    const first = await completeOrder(client, responder, [LOCALHOST], makeCsr({ sans: ['DNS:localhost'] }).der);
    const [authzUrl] = (await client.get(first.orderUrl)).json.authorizations as string[];

    const stranger = await newClient();
    await stranger.newAccount();
    const theirs = await stranger.newOrder([LOCALHOST]);
    expect(theirs.json.status).toBe('pending');
    expect(theirs.json.authorizations[0]).not.toBe(authzUrl);

    // Valid for less than the minimum remaining (an hour here): a fresh one.
    await t.ctx.db.update(acmeAuthorizations).set({ expires: new Date(Date.now() + 1800_000) }).where(eq(acmeAuthorizations.id, idOf(authzUrl)));
    const short = await client.newOrder([LOCALHOST]);
    expect(short.json.status).toBe('pending');
    expect(short.json.authorizations[0]).not.toBe(authzUrl);

    await t.ctx.db.update(acmeAuthorizations).set({ expires: new Date(Date.now() + 86400_000) }).where(eq(acmeAuthorizations.id, idOf(authzUrl)));
    expect((await client.newOrder([LOCALHOST])).json.authorizations[0]).toBe(authzUrl);
    expect((await client.post(authzUrl, { status: 'deactivated' })).json.status).toBe('deactivated');
    const after = await client.newOrder([LOCALHOST]);
    expect(after.json.status).toBe('pending');
    expect(after.json.authorizations[0]).not.toBe(authzUrl);
  });

  it('deactivating a reused authorization invalidates every pending or ready order naming it', async () => {
    const first = await completeOrder(client, responder, [LOCALHOST], makeCsr({ sans: ['DNS:localhost'] }).der);
    const [authzUrl] = (await client.get(first.orderUrl)).json.authorizations as string[];
    const a = await client.newOrder([LOCALHOST]);
    const b = await client.newOrder([LOCALHOST, IPV6]);
    expect(a.json.status).toBe('ready');
    expect(b.json.status).toBe('pending');
    expect(b.json.authorizations[0]).toBe(authzUrl);
    expect((await client.post(authzUrl, { status: 'deactivated' })).status).toBe(200);
    for (const o of [a, b]) {
      const now = (await client.get(o.location!)).json;
      expect(now.status).toBe('invalid');
      expect(now.error.type).toBe('urn:ietf:params:acme:error:unauthorized');
    }
    // The issued order keeps its certificate.
    expect((await client.get(first.orderUrl)).json.status).toBe('valid');
    const f = await client.post(a.json.finalize, { csr: makeCsr({ sans: ['DNS:localhost'] }).der.toString('base64url') });
    expect(f.status).toBe(403);
    expect(f.json.type).toBe('urn:ietf:params:acme:error:orderNotReady');
  });
});
