import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol } from '../../protocols/acme/index.ts';
import { loadConfig } from '../../src/config.ts';
import { ipInRanges, parseCidr, resolveClientAddress } from '../../src/http/client-address.ts';
import { buildApp } from '../../src/server.ts';
import { AcmeClient, newKey, type Fetch } from '../acme/client.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';

describe('client address', () => {
  it('matches IPv4 and IPv6 CIDR ranges, IPv4-mapped IPv6 as IPv4', () => {
    expect(ipInRanges('10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(ipInRanges('11.1.2.3', ['10.0.0.0/8'])).toBe(false);
    expect(ipInRanges('::ffff:10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(ipInRanges('10.1.2.3', ['::ffff:10.0.0.0/104'])).toBe(true);
    expect(ipInRanges('2001:db8::17', ['2001:db8::/32'])).toBe(true);
    expect(ipInRanges('2001:db9::17', ['2001:db8::/32'])).toBe(false);
    expect(ipInRanges('[fe80::1%eth0]', ['fe80::/10'])).toBe(true);
    expect(ipInRanges('192.0.2.1', ['192.0.2.1'])).toBe(true);
    expect(ipInRanges('not-an-ip', ['0.0.0.0/0'])).toBe(false);
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
    expect(() => parseCidr('example.com')).toThrow();
    expect(() => loadConfig({}, { trustedProxies: '10.0.0.0/8,bogus' })).toThrow(/CIDR/);
    expect(loadConfig({}, { trustedProxies: '10.0.0.0/8, ::1' }).trustedProxies).toEqual(['10.0.0.0/8', '::1']);
  });

  it('walks X-Forwarded-For right to left over trusted proxies only', () => {
    const trusted = ['10.0.0.0/8', '2001:db8:ffff::/48'];
    // Not from a proxy: the header is the client's own words.
    expect(resolveClientAddress('198.51.100.7', '1.2.3.4', trusted)).toBe('198.51.100.7');
    // One proxy: the entry it appended.
    expect(resolveClientAddress('10.0.0.1', '203.0.113.9', trusted)).toBe('203.0.113.9');
    // A spoofed leftmost entry is never believed.
    expect(resolveClientAddress('10.0.0.1', '6.6.6.6, 203.0.113.9', trusted)).toBe('203.0.113.9');
    // Two proxies in a chain (the inner one listed), IPv6 and mapped forms.
    expect(resolveClientAddress('::ffff:10.0.0.1', '6.6.6.6, 203.0.113.9, 10.9.9.9', trusted)).toBe('203.0.113.9');
    expect(resolveClientAddress('2001:db8:ffff::1', '2001:db8:1::5', trusted)).toBe('2001:db8:1::5');
    // Garbage ends the walk at the hop that wrote it.
    expect(resolveClientAddress('10.0.0.1', '203.0.113.9, junk', trusted)).toBe('10.0.0.1');
    // Only trusted proxies: the leftmost of them.
    expect(resolveClientAddress('10.0.0.1', '10.0.0.2', trusted)).toBe('10.0.0.2');
  });
});

describe.each(drivers)('ACME per-IP limits behind trusted proxies (%s)', (driver) => {
  let t: TestContext;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let forged = 0;
  beforeAll(async () => {
    t = await makeTestContext(driver, { trustedProxies: '10.0.0.1, 10.1.0.0/16' });
    app = await buildApp(t.ctx, [createAcmeProtocol({ rateAccountsPerIp: 3 }, {})]);
  });
  afterAll(() => t?.cleanup());

  /** Requests arriving from `proxy` on behalf of `client`, each with a new forged leftmost entry. */
  const via = (proxy: string, client: string): Fetch => (u, i) => {
    const headers = new Headers(i.headers);
    headers.set('X-Forwarded-For', `198.18.${forged >> 8}.${forged++ & 255}, ${client}`);
    return Promise.resolve(app.request(u, { ...i, headers }, { incoming: { socket: { remoteAddress: proxy } } }));
  };
  const newAccount = async (f: Fetch) => (await (await new AcmeClient('http://localhost/acme/directory', await newKey(), f).init()).newAccount()).status;

  it('a spoofed leftmost X-Forwarded-For entry cannot dodge the new-accounts-per-IP limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await newAccount(via('10.0.0.1', '203.0.113.9')));
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
  });

  it('a proxy trusted by CIDR range forwards each client under its own address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await newAccount(via('::ffff:10.1.2.3', '203.0.113.10')));
    expect(statuses).toEqual([201, 201, 201, 429]);
    // Another client behind the same proxy has its own allowance.
    expect(await newAccount(via('::ffff:10.1.2.3', '203.0.113.11'))).toBe(201);
  });
});
