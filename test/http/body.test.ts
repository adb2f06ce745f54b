import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { badString, jsonTooDeep, parseClientJson, readJsonBody, readRawBody } from '../../src/http/body.ts';
import { isIssuanceError } from '../../src/issuance/errors.ts';

const rule = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return isIssuanceError(e) && e.code === 'malformed' ? (e.rule ?? 'BadRequest') : `other: ${String(e)}`;
  }
  return undefined;
};

describe('client JSON', () => {
  it('counts depth without recursion, ignoring brackets inside strings and escaped quotes', () => {
    expect(jsonTooDeep('[[[]]]', 3)).toBe(false);
    expect(jsonTooDeep('[[[[]]]]', 3)).toBe(true);
    expect(jsonTooDeep('{"a":"[[[[[[\\"[[[[[["}', 2)).toBe(false);
    expect(jsonTooDeep('[1,[2],{"x":[3]}]'.padEnd(100, ' '), 3)).toBe(false);
    expect(jsonTooDeep('[1,[2],{"x":[3]}]'.padEnd(100, ' '), 2)).toBe(true);
    expect(rule(() => parseClientJson('['.repeat(1_000_000) + ']'.repeat(1_000_000)))).toBe('input.json.depth');
    expect(rule(() => parseClientJson(`{"a":${'{"b":'.repeat(10_000)}1${'}'.repeat(10_000)}}`))).toBe('input.json.depth');
    expect(parseClientJson('[[[1]]]', { maxDepth: 3 })).toEqual([[[1]]]);
  });

  it('refuses NUL and lone surrogates in strings and keys, accepts pairs', () => {
    expect(rule(() => parseClientJson('{"a":"x\\u0000"}'))).toBe('input.string');
    expect(rule(() => parseClientJson('{"a\\u0000":1}'))).toBe('input.string');
    expect(rule(() => parseClientJson('["ok",["\\ud800"]]'))).toBe('input.string');
    expect(rule(() => parseClientJson('{"a":"\\udc00x"}'))).toBe('input.string');
    expect(rule(() => parseClientJson('{"a":"x\\udbff"}'))).toBe('input.string');
    expect(parseClientJson('{"a":"\\ud83d\\ude00 é"}')).toEqual({ a: '😀 é' });
    expect(rule(() => parseClientJson('{"a":'))).toBe('input.json');
    expect(badString('fine')).toBeUndefined();
  });

  it('bodies: size limit, unreadable and empty bodies are BadRequest', async () => {
    const app = new Hono();
    app.post('/raw', async (c) => c.json({ n: (await readRawBody(c, 10)).length }));
    app.post('/json', async (c) => c.json(await readJsonBody(c, { maxBytes: 100, maxDepth: 2 })));
    app.onError((e, c) => c.json({ rule: isIssuanceError(e) ? e.rule : 'other' }, 400));
    const post = async (p: string, body: string) => {
      const r = await app.request(p, { method: 'POST', body });
      return (await r.json()) as Record<string, unknown>;
    };
    expect(await post('/raw', '0123456789')).toEqual({ n: 10 });
    expect(await post('/raw', '0123456789a')).toEqual({ rule: 'input.body.size' });
    expect(await post('/json', '{"a":[1]}')).toEqual({ a: [1] });
    expect(await post('/json', '{"a":[[1]]}')).toEqual({ rule: 'input.json.depth' });
    expect(await post('/json', `"${'x'.repeat(200)}"`)).toEqual({ rule: 'input.body.size' });
    expect(await post('/json', '  ')).toEqual({ rule: 'input.json' });
  });
});
