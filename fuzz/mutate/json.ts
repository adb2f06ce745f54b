/**
 * JSON mutations: a field's value replaced by another type, a huge number, NUL, a lone surrogate,
 * deep nesting, an enormous string; fields dropped, added, renamed in another case; and whole
 * bodies that are not JSON (truncated, invalid UTF-8, 10,000-deep).
 */
import type { Rng } from '../rng.ts';

const deep = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n);

/** Values of every JSON type and of the awkward kinds (as JSON text fragments). */
export function oddValue(rng: Rng): string {
  return rng.pick([
    'null',
    'true',
    '0',
    '-1',
    '1e400',
    '-1e400',
    '123456789012345678901234567890',
    '0.5',
    '-0',
    '""',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"x\\udfff"',
    '"\\ud83d\\ude00"',
    '"\' OR 1=1 --"',
    '"%00"',
    '"../../etc/passwd"',
    '[]',
    '{}',
    '[null]',
    '{"a":{"b":{"c":[1]}}}',
    `"${'x'.repeat(10_000)}"`,
    deep(100),
    deep(10_000),
    '{"__proto__":{"polluted":1}}',
    '"\\u202e\\ufeff"',
  ]);
}

/** One mutation of `obj` (a JSON object), as the body text. */
export function mutateJson(rng: Rng, obj: Record<string, unknown>): { text: string; kind: string } {
  const keys = Object.keys(obj);
  const op = rng.int(10);
  if (op <= 3 && keys.length) {
    const k = rng.pick(keys);
    const rest = { ...obj };
    delete rest[k];
    const v = oddValue(rng);
    const body = JSON.stringify(rest);
    return { text: body === '{}' ? `{${JSON.stringify(k)}:${v}}` : `${body.slice(0, -1)},${JSON.stringify(k)}:${v}}`, kind: 'json.value' };
  }
  if (op === 4 && keys.length) {
    const rest = { ...obj };
    delete rest[rng.pick(keys)];
    return { text: JSON.stringify(rest), kind: 'json.drop' };
  }
  if (op === 5) {
    const k = rng.pick(['\u0000', '\ud800', 'x'.repeat(5000), 'constructor', '__proto__', keys[0]?.toUpperCase() ?? 'A']);
    const body = JSON.stringify(obj);
    return { text: `${body.slice(0, -1)}${keys.length ? ',' : ''}${JSON.stringify(k).replace('\\ud800', '\\ud800')}:${oddValue(rng)}}`, kind: 'json.key' };
  }
  if (op === 6) {
    const t = JSON.stringify(obj);
    return { text: t.slice(0, rng.int(t.length)), kind: 'json.truncated' };
  }
  if (op === 7) return { text: rng.pick([deep(10_000), deep(10_000, '{"a":', '}'), `{"a":${deep(1000)}}`, deep(100_000, '[', '')]), kind: 'json.depth' };
  if (op === 8) return { text: rng.pick(['', ' ', 'null', '[]', '"x"', '1e999', '\u0000', '{"a":1,}', "{'a':1}", '\xff\xfe{}']), kind: 'json.notobject' };
  // A value of each field replaced by its own kind of nonsense, several at once.
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = rng.chance(0.5) ? obj[k] : rng.pick([null, 0, -1, 2 ** 53 + 1, '', [], {}, true, 'x\u0000', '\ud800']);
  return { text: JSON.stringify(out), kind: 'json.mixed' };
}
