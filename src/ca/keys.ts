import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ProfileViolation } from '../issuance/errors.ts';
import type { KeySpec } from '../issuance/request.ts';

const gen = promisify(generateKeyPair);

export type CaKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ed25519';

export function keySpecFor(t: CaKeyType): KeySpec {
  switch (t) {
    case 'ec-p256': return { type: 'EC', curve: 'P-256' };
    case 'ec-p384': return { type: 'EC', curve: 'P-384' };
    case 'rsa-2048': return { type: 'RSA', bits: 2048 };
    case 'rsa-3072': return { type: 'RSA', bits: 3072 };
    case 'rsa-4096': return { type: 'RSA', bits: 4096 };
    case 'ed25519': return { type: 'Ed25519' };
  }
}

/** Generates a key pair with node:crypto (RSA off the event loop: it takes tens of milliseconds). */
export async function generateKey(spec: KeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  switch (spec.type) {
    case 'EC':
      return gen('ec', { namedCurve: spec.curve });
    case 'RSA':
      if (spec.bits < 2048 || spec.bits > 8192) throw new ProfileViolation('keys.rsa', 'server-generated RSA keys must be 2048-8192 bits');
      return gen('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 });
    case 'Ed25519':
      return gen('ed25519', {});
  }
}
