/** HTTP-level variations applied to any target's input: methods, content types, framing, paths. */
import type { Rng } from '../rng.ts';
import type { FuzzInput } from '../types.ts';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const TYPES = ['', 'text/plain', 'application/json', 'application/jose+json', 'application/ocsp-request', 'application/pkcs10', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'x'.repeat(2000)];
const PATH_JUNK = ['%00', '%ff', '%ED%A0%80', '%2e%2e%2f', '..', '//', '%', 'x'.repeat(4000), '%u0000', '\u00e9'];

export function mutateHttp(rng: Rng, input: FuzzInput): FuzzInput {
  const out: FuzzInput = { ...input, headers: { ...(input.headers ?? {}) } };
  const op = rng.int(8);
  if (op === 0) {
    out.method = rng.pick(METHODS);
    if (out.method === 'GET' || out.method === 'HEAD') out.body = undefined;
    out.kind += '+method';
  } else if (op === 1) {
    const t = rng.pick(TYPES);
    if (t) out.headers!['content-type'] = t;
    else delete out.headers!['content-type'];
    out.kind += '+content-type';
  } else if (op === 2 && out.body !== undefined) {
    out.chunked = true;
    out.kind += '+chunked';
  } else if (op === 3 && out.body !== undefined && out.body.length > 1) {
    out.truncate = true;
    out.kind += '+truncated';
  } else if (op === 4) {
    out.body = Buffer.concat([Buffer.from(out.body ?? ''), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0xff])]);
    if (out.method === 'GET' || out.method === 'HEAD') out.method = 'POST';
    out.kind += '+bad-utf8';
  } else if (op === 5) {
    const [p, q] = out.path.split('?');
    const segs = p.split('/');
    segs[1 + rng.int(Math.max(1, segs.length - 1))] = rng.pick(PATH_JUNK);
    out.path = encodeURI(segs.join('/')).replace(/%25/g, '%') + (q ? `?${q}` : '');
    out.kind += '+path';
  } else if (op === 6) {
    out.path += `${out.path.includes('?') ? '&' : '?'}${rng.pick(['a=%00', 'subject=%00', 'x=%ff', 'limit=-1', 'limit=1e400', 'offset=99999999999', 'cursor=%00', 'a=' + 'b'.repeat(5000)])}`;
    out.kind += '+query';
  } else {
    out.headers![rng.pick(['x-forwarded-for', 'x-request-id', 'authorization', 'accept', 'if-none-match', 'emkey', 'x-nonce'])] = rng.pick(['', ' ', 'Bearer ', 'Bearer x.y.z', '1.2.3.4, junk', '\u00ff'.repeat(100), 'x'.repeat(8000)]);
    out.kind += '+header';
  }
  return out;
}
