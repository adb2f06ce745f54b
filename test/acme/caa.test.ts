/** RFC 8659 evaluation of a relevant CAA record set, and the tree climbing that finds it. */
import { describe, expect, it } from 'vitest';
import { caaPermits, checkCaa, relevantCaa, type CaaRecord } from '../../protocols/acme/validation/caa.ts';

const rec = (tag: string, value: string, critical = false): CaaRecord => ({ tag, value, critical });
const me = ['ca.example'];

describe('caaPermits', () => {
  it('permits with no records, no issue property, or an issue property naming this CA', () => {
    expect(caaPermits([], me, false).ok).toBe(true);
    expect(caaPermits([rec('iodef', 'mailto:x@example.com')], me, false).ok).toBe(true);
    expect(caaPermits([rec('issue', 'other.example'), rec('issue', 'CA.Example')], me, false).ok).toBe(true);
    expect(caaPermits([rec('issue', 'ca.example; validationmethods=dns-01')], me, false).ok).toBe(true);
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
