import { describe, it, expect } from 'vitest';
import { parseDuration, parseDateTime, resolveValidity } from '../../src/issuance/validity.ts';
import { IssuanceError, Unavailable } from '../../src/issuance/errors.ts';
import { parseProfile } from '../../src/profiles/model.ts';
import type { ValidityRequest } from '../../src/issuance/request.ts';

const DAY = 86400;

function thrown(fn: () => unknown): IssuanceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IssuanceError);
    return e as IssuanceError;
  }
  throw new Error('expected an error');
}

describe('parseDuration', () => {
  const good: [string | number, number][] = [
    // emCA D:H:M:S
    ['1:0:0:0', DAY],
    ['0:0:0:1', 1],
    ['0:23:59:59', 23 * 3600 + 59 * 60 + 59],
    ['365:00:00:00', 365 * DAY],
    ['36135:0:0:0', 36135 * DAY],
    ['36135:23:59:59', 36135 * DAY + 86399],
    ['001:02:03:04', DAY + 2 * 3600 + 3 * 60 + 4],
    [' 2:0:0:0 ', 2 * DAY],
    // ISO 8601
    ['P90D', 90 * DAY],
    ['PT12H', 12 * 3600],
    ['P1DT2H3M4S', DAY + 2 * 3600 + 3 * 60 + 4],
    ['PT30M', 1800],
    ['PT1S', 1],
    ['PT36H', 36 * 3600],
    ['P2W', 14 * DAY],
    ['P1D', DAY],
    ['p90d', 90 * DAY],
    ['P0DT1S', 1],
    // seconds
    [86400, DAY],
    [1, 1],
    ['3600', 3600],
    ['1', 1],
  ];
  it.each(good)('accepts %j → %i seconds', (input, seconds) => {
    expect(parseDuration(input)).toBe(seconds);
  });

  const bad: [string | number, RegExp][] = [
    ['36136:0:0:0', /days must be 0-36135, got 36136/],
    ['0:24:0:0', /hours must be 0-23, got 24/],
    ['0:0:60:0', /minutes must be 0-59, got 60/],
    ['0:0:0:60', /seconds must be 0-59, got 60/],
    ['0:0:0:0', /greater than zero/],
    ['1:0:0', /four parts D:H:M:S, got 3/],
    ['1:0:0:0:0', /four parts D:H:M:S, got 5/],
    ['-1:0:0:0', /days must be a decimal integer/],
    ['1:+2:0:0', /hours must be a decimal integer/],
    ['1:0x1:0:0', /hours must be a decimal integer/],
    ['1:0: 1:0', /minutes must be a decimal integer/],
    ['1.5:0:0:0', /days must be a decimal integer/],
    ['1:0:0:', /seconds must be a decimal integer/],
    ['P1Y', /years or months/],
    ['P1M', /years or months/],
    ['P1Y2M3D', /years or months/],
    ['P', /not a valid ISO 8601 duration/],
    ['PT', /not a valid ISO 8601 duration/],
    ['P1DT', /not a valid ISO 8601 duration/],
    ['P1H', /not a valid ISO 8601 duration/],
    ['PT1D', /not a valid ISO 8601 duration/],
    ['P-1D', /not a valid ISO 8601 duration/],
    ['P1.5D', /fractional/],
    ['PT0.5S', /fractional/],
    ['P0D', /greater than zero/],
    ['PT0S', /greater than zero/],
    ['P99999999999999999999D', /too large/],
    [0, /greater than zero/],
    [-5, /greater than zero/],
    [1.5, /whole number of seconds/],
    [Number.NaN, /whole number of seconds/],
    [Number.POSITIVE_INFINITY, /whole number of seconds/],
    ['0', /greater than zero/],
    ['-1', /not recognised/],
    ['1.5', /not recognised/],
    ['', /empty/],
    ['   ', /empty/],
    ['90 days', /not recognised/],
    ['1e5', /not recognised/],
    ['99999999999999999999', /too large/],
  ];
  it.each(bad)('rejects %j with %s', (input, message) => {
    const e = thrown(() => parseDuration(input));
    expect(e).toMatchObject({ code: 'validity', rule: 'validity.duration' });
    expect(e.message).toMatch(message);
  });
});

describe('parseDateTime', () => {
  const good: [string | Date, string][] = [
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z'],
    ['2026-01-02t03:04:05z', '2026-01-02T03:04:05.000Z'],
    ['2026-01-02 03:04:05Z', '2026-01-02T03:04:05.000Z'],
    ['2026-01-02T03:04:05.123Z', '2026-01-02T03:04:05.123Z'],
    ['2026-01-02T03:04:05.5Z', '2026-01-02T03:04:05.500Z'],
    ['2026-01-02T03:04:05.123456789Z', '2026-01-02T03:04:05.123Z'],
    ['2026-01-02T03:04:05+05:30', '2026-01-01T21:34:05.000Z'],
    ['2026-01-02T03:04:05-08:00', '2026-01-02T11:04:05.000Z'],
    ['2026-01-02T03:04:05+00:00', '2026-01-02T03:04:05.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59.000Z'],
    ['0050-01-01T00:00:00Z', '0050-01-01T00:00:00.000Z'],
    // emCA dd:MM:yyyy HH:mm:ss, UTC
    ['02:01:2026 03:04:05', '2026-01-02T03:04:05.000Z'],
    ['29:02:2024 00:00:00', '2024-02-29T00:00:00.000Z'],
    ['31:12:2026 23:59:59', '2026-12-31T23:59:59.000Z'],
    ['30:04:2026 12:00:00', '2026-04-30T12:00:00.000Z'],
    ['01:01:2026 00:00:00', '2026-01-01T00:00:00.000Z'],
    [new Date('2026-05-06T07:08:09.010Z'), '2026-05-06T07:08:09.010Z'],
  ];
  it.each(good)('accepts %j', (input, iso) => {
    expect(parseDateTime(input).toISOString()).toBe(iso);
  });

  it('returns a copy of a Date', () => {
    const d = new Date('2026-01-01T00:00:00Z');
    const r = parseDateTime(d);
    expect(r).not.toBe(d);
    expect(r.getTime()).toBe(d.getTime());
  });

  const bad: [string | Date, RegExp][] = [
    ['2026-01-02T03:04:05', /no timezone/],
    ['2026-01-02T03:04:05.123', /no timezone/],
    ['2026-01-02 03:04:05', /no timezone/],
    ['2026-13-02T03:04:05Z', /month must be 1-12, got 13/],
    ['2026-00-02T03:04:05Z', /month must be 1-12, got 0/],
    ['2026-01-32T03:04:05Z', /day must be 1-31 for 01\/2026, got 32/],
    ['2026-01-00T03:04:05Z', /day must be 1-31/],
    ['2023-02-29T00:00:00Z', /day must be 1-28 for 02\/2023, got 29/],
    ['1900-02-29T00:00:00Z', /day must be 1-28 for 02\/1900/],
    ['2026-04-31T00:00:00Z', /day must be 1-30 for 04\/2026, got 31/],
    ['2026-01-02T24:00:00Z', /hours must be 0-23, got 24/],
    ['2026-01-02T03:60:05Z', /minutes must be 0-59, got 60/],
    ['2026-01-02T03:04:60Z', /seconds must be 0-59, got 60/],
    ['2026-01-02T03:04:05+24:00', /offset hours must be 0-23/],
    ['2026-01-02T03:04:05+05:60', /offset minutes must be 0-59/],
    ['2026-01-02T03:04:05+0530', /not recognised/],
    ['2026-01-02', /not recognised/],
    ['2026-1-2T03:04:05Z', /not recognised/],
    ['2026-01-02T03:04Z', /not recognised/],
    ['yesterday', /not recognised/],
    ['', /not recognised/],
    ['29:02:2023 00:00:00', /day must be 1-28 for 02\/2023, got 29/],
    ['31:04:2026 00:00:00', /day must be 1-30 for 04\/2026, got 31/],
    ['00:01:2026 00:00:00', /day must be 1-31/],
    ['01:13:2026 00:00:00', /month must be 1-12, got 13/],
    ['01:01:2026 24:00:00', /hours must be 0-23, got 24/],
    ['01:01:2026 23:60:00', /minutes must be 0-59, got 60/],
    ['01:01:2026 23:59:60', /seconds must be 0-59, got 60/],
    ['1:1:2026 00:00:00', /not recognised/],
    ['01:01:2026', /not recognised/],
    ['01:01:2026T00:00:00', /not recognised/],
    [new Date(Number.NaN), /invalid Date/],
  ];
  it.each(bad)('rejects %j with %s', (input, message) => {
    const e = thrown(() => parseDateTime(input));
    expect(e).toMatchObject({ code: 'validity', rule: 'validity.dateTime' });
    expect(e.message).toMatch(message);
  });
});

describe('resolveValidity', () => {
  const now = new Date('2026-03-01T12:00:00.789Z');
  const nowS = Date.parse('2026-03-01T12:00:00Z');
  const opts = {
    now,
    issuerNotBefore: new Date('2025-01-01T00:00:00Z'),
    issuerNotAfter: new Date('2035-01-01T00:00:00Z'),
  };
  const rule = parseProfile({ name: 'p', validity: { default: 90 * DAY, max: 397 * DAY, backdate: 60 } }).validity;
  const at = (offsetSeconds: number) => new Date(nowS + offsetSeconds * 1000);
  const iso = (offsetSeconds: number) => at(offsetSeconds).toISOString();

  type Case = {
    name: string;
    req: ValidityRequest | undefined;
    rule?: Partial<typeof rule>;
    opts?: Partial<typeof opts>;
    notBefore: Date;
    notAfter: Date;
    clamped: boolean;
  };
  const cases: Case[] = [
    { name: 'no request: now-backdate .. now+default', req: undefined, notBefore: at(-60), notAfter: at(90 * DAY), clamped: false },
    { name: 'empty request is no request', req: {}, notBefore: at(-60), notAfter: at(90 * DAY), clamped: false },
    { name: 'duration in emCA form', req: { duration: '30:00:00:00' }, notBefore: at(-60), notAfter: at(30 * DAY), clamped: false },
    { name: 'duration in ISO form', req: { duration: 'PT12H' }, notBefore: at(-60), notAfter: at(12 * 3600), clamped: false },
    { name: 'duration in seconds', req: { duration: 3600 }, notBefore: at(-60), notAfter: at(3600), clamped: false },
    { name: 'duration exactly max', req: { duration: 'P397D' }, notBefore: at(-60), notAfter: at(397 * DAY), clamped: false },
    { name: 'duration above max is clamped', req: { duration: 'P398D' }, notBefore: at(-60), notAfter: at(397 * DAY), clamped: true },
    { name: 'huge duration is clamped', req: { duration: '36135:0:0:0' }, notBefore: at(-60), notAfter: at(397 * DAY), clamped: true },
    {
      name: 'duration counts from a requested notBefore, no backdate',
      req: { duration: 'P10D', notBefore: iso(DAY) },
      notBefore: at(DAY),
      notAfter: at(11 * DAY),
      clamped: false,
    },
    {
      name: 'absolute window honoured',
      req: { notBefore: iso(3600), notAfter: iso(10 * DAY) },
      notBefore: at(3600),
      notAfter: at(10 * DAY),
      clamped: false,
    },
    {
      name: 'absolute window in emCA format',
      req: { notBefore: '02:03:2026 00:00:00', notAfter: '01:04:2026 00:00:00' },
      notBefore: new Date('2026-03-02T00:00:00Z'),
      notAfter: new Date('2026-04-01T00:00:00Z'),
      clamped: false,
    },
    {
      name: 'absolute notAfter alone: backdated start',
      req: { notAfter: new Date(nowS + 5 * DAY * 1000 + 999) },
      notBefore: at(-60),
      notAfter: at(5 * DAY),
      clamped: false,
    },
    {
      name: 'notBefore alone gets the default length',
      req: { notBefore: iso(DAY) },
      notBefore: at(DAY),
      notAfter: at(91 * DAY),
      clamped: false,
    },
    {
      name: 'absolute window longer than max is clamped from its start',
      req: { notBefore: iso(DAY), notAfter: iso(500 * DAY) },
      notBefore: at(DAY),
      notAfter: at(398 * DAY),
      clamped: true,
    },
    {
      name: 'requested notBefore in the past is honoured',
      req: { notBefore: iso(-DAY), notAfter: iso(DAY) },
      notBefore: at(-DAY),
      notAfter: at(DAY),
      clamped: false,
    },
    {
      name: 'clamped to the issuer notAfter',
      req: { duration: 'P300D' },
      opts: { issuerNotAfter: at(100 * DAY) },
      notBefore: at(-60),
      notAfter: at(100 * DAY),
      clamped: true,
    },
    {
      name: 'default clamped to the issuer notAfter',
      req: undefined,
      opts: { issuerNotAfter: at(10 * DAY) },
      notBefore: at(-60),
      notAfter: at(10 * DAY),
      clamped: true,
    },
    {
      name: 'requested notBefore before the issuer notBefore is moved up',
      req: { notBefore: iso(-10 * DAY), notAfter: iso(DAY) },
      opts: { issuerNotBefore: at(-DAY) },
      notBefore: at(-DAY),
      notAfter: at(DAY),
      clamped: true,
    },
    {
      name: 'backdate trimmed to a brand-new issuer is not a clamp',
      req: undefined,
      opts: { issuerNotBefore: at(-10) },
      notBefore: at(-10),
      notAfter: at(90 * DAY),
      clamped: false,
    },
    {
      name: 'issuer notBefore with milliseconds is rounded up',
      req: undefined,
      opts: { issuerNotBefore: new Date(nowS - 10_000 + 1) },
      notBefore: at(-9),
      notAfter: at(90 * DAY),
      clamped: false,
    },
    {
      name: 'allowCustom false ignores a requested duration',
      req: { duration: 'P1D' },
      rule: { allowCustom: false },
      notBefore: at(-60),
      notAfter: at(90 * DAY),
      clamped: false,
    },
    {
      name: 'allowCustom false ignores even an invalid request',
      req: { notAfter: 'garbage', duration: 'nope' },
      rule: { allowCustom: false },
      notBefore: at(-60),
      notAfter: at(90 * DAY),
      clamped: false,
    },
    {
      name: 'default longer than max is clamped',
      req: undefined,
      rule: { default: 400 * DAY },
      notBefore: at(-60),
      notAfter: at(397 * DAY),
      clamped: true,
    },
    { name: 'zero backdate', req: undefined, rule: { backdate: 0 }, notBefore: at(0), notAfter: at(90 * DAY), clamped: false },
  ];
  it.each(cases)('$name', (c) => {
    const r = resolveValidity({ ...rule, ...c.rule }, c.req, { ...opts, ...c.opts });
    expect(r.notBefore.toISOString()).toBe(c.notBefore.toISOString());
    expect(r.notAfter.toISOString()).toBe(c.notAfter.toISOString());
    expect(r.clamped).toBe(c.clamped);
  });

  it('returns whole seconds only', () => {
    const r = resolveValidity(rule, { notBefore: '2026-03-02T00:00:00.999Z', duration: 'P1D' }, opts);
    expect(r.notBefore.getMilliseconds()).toBe(0);
    expect(r.notAfter.getMilliseconds()).toBe(0);
    expect(r.notBefore.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    const d = resolveValidity(rule, undefined, opts);
    expect(d.notBefore.getTime() % 1000).toBe(0);
    expect(d.notAfter.getTime() % 1000).toBe(0);
  });

  const bad: { name: string; req: ValidityRequest; opts?: Partial<typeof opts>; message: RegExp }[] = [
    { name: 'notAfter before notBefore', req: { notBefore: iso(2 * DAY), notAfter: iso(DAY) }, message: /notAfter .* must be after notBefore/ },
    { name: 'notAfter equal to notBefore', req: { notBefore: iso(DAY), notAfter: iso(DAY) }, message: /must be after notBefore/ },
    { name: 'notAfter before the backdated start', req: { notAfter: iso(-3600) }, message: /must be after notBefore/ },
    { name: 'notAfter in the past within the backdate', req: { notAfter: iso(-30) }, message: /is in the past/ },
    { name: 'window entirely in the past', req: { notBefore: iso(-2 * DAY), notAfter: iso(-DAY) }, message: /is in the past/ },
    { name: 'notAfter exactly now', req: { notBefore: iso(-DAY), notAfter: iso(0) }, message: /is in the past/ },
    { name: 'duration and notAfter together', req: { duration: 'P1D', notAfter: iso(DAY) }, message: /either a duration or a notAfter/ },
    { name: 'bad duration', req: { duration: '0:24:0:0' }, message: /hours must be 0-23/ },
    { name: 'bad notBefore', req: { notBefore: '2026-03-02T00:00:00' }, message: /no timezone/ },
    { name: 'bad notAfter', req: { notAfter: '29:02:2027 00:00:00' }, message: /day must be 1-28/ },
    {
      name: 'notBefore so old the maximum has elapsed',
      req: { notBefore: iso(-400 * DAY), notAfter: iso(DAY) },
      message: /so far in the past that the profile maximum of 397 days ended/,
    },
    {
      name: 'notBefore after the issuer notAfter',
      req: { notBefore: iso(20 * DAY), duration: 'P1D' },
      opts: { issuerNotAfter: at(10 * DAY) },
      message: /outside the issuing CA's validity/,
    },
  ];
  it.each(bad)('rejects $name', (c) => {
    const e = thrown(() => resolveValidity(rule, c.req, { ...opts, ...c.opts }));
    expect(e.code).toBe('validity');
    expect(e.rule).toMatch(/^validity\.(duration|dateTime|ambiguous|order|notAfter|notBefore|issuer)$/);
    expect(e.message).toMatch(c.message);
  });

  it('refuses to issue under an expired issuer (issuerUnavailable, not validity)', () => {
    const e = thrown(() => resolveValidity(rule, undefined, { ...opts, issuerNotAfter: at(-1) }));
    expect(e).toBeInstanceOf(Unavailable);
    expect(e.code).toBe('issuerUnavailable');
    expect(e.message).toMatch(/expired/);
  });
});
