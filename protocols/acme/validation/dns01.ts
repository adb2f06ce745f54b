/**
 * dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<domain> holding
 * base64url(SHA-256(key authorization)).
 */
import { createHash } from 'node:crypto';
import type { ValidationInput } from './http01.ts';
import { ValidationError } from './resolve.ts';

export async function validateDns01(v: ValidationInput): Promise<{ name: string; records: number }> {
  if (v.identifier.type !== 'dns') throw new ValidationError('rejectedIdentifier', 'dns-01 validates DNS names only');
  const name = `_acme-challenge.${v.identifier.value}`;
  const expected = createHash('sha256').update(v.keyAuthorization).digest('base64url');
  const records = await v.resolution.txt(name);
  if (!records.length) throw new ValidationError('dns', `no TXT record at ${name}`);
  if (!records.includes(expected)) {
    throw new ValidationError('incorrectResponse', `none of the ${records.length} TXT record(s) at ${name} holds the expected digest`);
  }
  return { name, records: records.length };
}
