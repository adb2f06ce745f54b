/** RFC 8659 evaluation of a relevant CAA record set, and the tree climbing that finds it. */
import { describe, expect, it } from 'vitest';
import { caaPermits, checkCaa, parseIssueValue, relevantCaa, type CaaRecord, type CaaRequester } from '../../protocols/acme/validation/caa.ts';
import { accountUriMatcher } from '../../protocols/acme/validation/index.ts';

const rec = (tag: string, value: string, critical = false): CaaRecord => ({ tag, value, critical });
const me = ['ca.example'];

describe('caaPermits', () => {
  it('permits with no records, no issue property, or an issue property naming this CA', () => {
    expect(caaPermits([], me, false).ok).toBe(true);
    expect(caaPermits([rec('iodef', 'mailto:x@example.com')], me, false).ok).toBe(true);
    expect(caaPermits([rec('issue', 'other.example'), rec('issue', 'CA.Example')], me, false).ok).toBe(true);
    expect(caaPermits([rec('issue', 'ca.example; tbs=x')], me, false).ok).toBe(true);
  });
  it('forbids an issue property naming only other CAs, or no CA (";")', () => {
    expect(caaPermits([rec('issue', 'other.example')], me, false)).toMatchObject({ ok: false });
    expect(caaPermits([rec('issue', ';')], me, false)).toMatchObject({ ok: false });
  });
  it('uses issuewild for a wildcard when present, else issue; issuewild alone does not restrict a plain name', () => {
    const set = [rec('issue', 'ca.example'), rec('issuewild', ';')];
    expect(caaPermits(set, me, true).ok).toBe(false);
    expect(caaPermits(set, me, false).ok).toBe(true);
    expect(caaPermits([rec('issue', 'other.example')], me, true).ok).toBe(false);
    expect(caaPermits([rec('issuewild', 'other.example')], me, false).ok).toBe(true);
  });
  it('forbids an unknown critical property; ignores an unknown non-critical one', () => {
    expect(caaPermits([rec('tbs', 'x', true)], me, false)).toMatchObject({ ok: false });
    expect(caaPermits([rec('tbs', 'x', false)], me, false).ok).toBe(true);
  });
});

describe('issue values (RFC 8659 §4.2)', () => {
  it('parses the issuer domain and parameters (tags case-insensitive, blanks around "=")', () => {
    expect(parseIssueValue(' CA.Example ')).toEqual({ domain: 'ca.example', params: new Map() });
    expect(parseIssueValue('ca.example;')).toEqual({ domain: 'ca.example', params: new Map() });
    expect(parseIssueValue(';')).toEqual({ domain: '', params: new Map() });
    const v = parseIssueValue('ca.example; AccountURI = https://ca.example/acme/acct/1 ;validationmethods=dns-01,http-01');
    expect(v?.params.get('accounturi')).toBe('https://ca.example/acme/acct/1');
    expect(v?.params.get('validationmethods')).toBe('dns-01,http-01');
  });
  it('refuses malformed parameters and a repeated RFC 8657 parameter; keeps the first of another repeated tag', () => {
    expect(parseIssueValue('ca.example; =x')).toBeUndefined();
    expect(parseIssueValue('ca.example; a b=c')).toBeUndefined();
    expect(parseIssueValue('ca.example; a=b c')).toBeUndefined();
    expect(parseIssueValue('ca.example; a=1;')).toBeUndefined();
    expect(parseIssueValue('ca.example; accounturi=https://a/1; accounturi=https://a/2')).toBeUndefined();
    expect(parseIssueValue('ca.example; validationmethods=dns-01; validationmethods=http-01')).toBeUndefined();
    expect(parseIssueValue('ca.example; x=1; x=2')?.params.get('x')).toBe('1');
  });
});

describe('account and method binding (RFC 8657)', () => {
  const acct = 'https://ca.example/acme/acct/A1';
  const who = (method: string): CaaRequester => ({ method, isAccount: (u) => u === acct });
  it('a property naming this CA with accounturi authorizes that account only', () => {
    expect(caaPermits([rec('issue', `ca.example; accounturi=${acct}`)], me, false, who('http-01')).ok).toBe(true);
    const other = caaPermits([rec('issue', 'ca.example; accounturi=https://ca.example/acme/acct/B2')], me, false, who('http-01'));
    expect(other).toMatchObject({ ok: false });
    expect((other as { reason: string }).reason).toContain('accounturi=https://ca.example/acme/acct/B2');
  });
  it('validationmethods lists the methods that may be used', () => {
    const set = [rec('issue', 'ca.example; validationmethods=dns-01,tls-alpn-01')];
    expect(caaPermits(set, me, false, who('dns-01')).ok).toBe(true);
    expect(caaPermits(set, me, false, who('tls-alpn-01')).ok).toBe(true);
    expect(caaPermits(set, me, false, who('http-01'))).toMatchObject({ ok: false, reason: expect.stringContaining('does not list http-01') });
  });
  it('both parameters must hold; another property naming this CA without them still authorizes', () => {
    const both = rec('issue', `ca.example; accounturi=${acct}; validationmethods=dns-01`);
    expect(caaPermits([both], me, false, who('dns-01')).ok).toBe(true);
    expect(caaPermits([both], me, false, who('http-01')).ok).toBe(false);
    expect(caaPermits([both, rec('issue', 'ca.example')], me, false, who('http-01')).ok).toBe(true);
  });
  it('fails closed: a bound property authorizes nothing without a requester, a malformed one nothing at all', () => {
    expect(caaPermits([rec('issue', `ca.example; accounturi=${acct}`)], me, false).ok).toBe(false);
    expect(caaPermits([rec('issue', 'ca.example; accounturi=a; accounturi=b')], me, false, who('http-01')).ok).toBe(false);
    expect(caaPermits([rec('issuewild', `ca.example; accounturi=${acct}`)], me, true, who('dns-01')).ok).toBe(true);
    expect(caaPermits([rec('issuewild', 'ca.example; validationmethods=http-01')], me, true, who('dns-01')).ok).toBe(false);
  });
  it('accounturi matches the account URL: exactly under a base URL, by its path otherwise', () => {
    const exact = accountUriMatcher('https://acme.example.com', 'A1');
    expect(exact('https://acme.example.com/acme/acct/A1')).toBe(true);
    expect(exact('https://other.example.com/acme/acct/A1')).toBe(false);
    expect(exact('https://acme.example.com/acme/acct/A1/')).toBe(false);
    const byPath = accountUriMatcher(undefined, 'A1');
    expect(byPath('https://anyhost:8443/acme/acct/A1')).toBe(true);
    expect(byPath('https://anyhost/acme/acct/A2')).toBe(false);
    expect(byPath('https://anyhost/acme/acct/A1?x=1')).toBe(false);
    expect(byPath('ftp://anyhost/acme/acct/A1')).toBe(false);
    expect(byPath('not a url')).toBe(false);
  });
});

describe('relevantCaa', () => {
  const zone: Record<string, CaaRecord[]> = { 'example.com': [rec('issue', 'ca.example')], 'sub.example.com': [] };
  const resolution = { caa: async (n: string) => zone[n] ?? [] };
  it('climbs to the closest ancestor with records', async () => {
    expect(await relevantCaa(resolution, 'a.sub.example.com')).toEqual({ at: 'example.com', records: zone['example.com'] });
    expect(await relevantCaa(resolution, 'other.org')).toEqual({ records: [] });
  });
  it('fails closed when a lookup fails', async () => {
    const broken = { caa: async () => Promise.reject(Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' })) };
    await expect(checkCaa(broken, 'x.example', false, me)).rejects.toThrow();
    await expect(checkCaa(resolution, 'www.example.com', false, ['other.ca'])).rejects.toMatchObject({ type: 'caa' });
    await expect(checkCaa(resolution, 'www.example.com', false, me)).resolves.toBeUndefined();
  });
});
