/**
 * The keys derived from a shared secret for MAC protection (PasswordBasedMac: 500-10,000 hash
 * iterations; PBMAC1: PBKDF2), kept in a small LRU keyed by everything the derivation reads —
 * the secret (by its SHA-256), the scheme, its hash and iteration count, and the salt — so that a
 * client reusing its MAC parameters (one salt per session, as some clients keep it) costs one
 * derivation, not one per message. A different secret, salt or count is a different entry: the
 * cache can only return the key the derivation would have produced.
 */
import { createHash } from 'node:crypto';
import { pbmKey } from '../../src/pki/cmp-pbm.ts';
import { pbmac1Key } from '../../src/pki/cmp-pbmac1.ts';
import type { MacScheme } from './protection.ts';

const MAX = 4096;

type Derive = (scheme: MacScheme, secret: Buffer) => Promise<Buffer>;

/** Derivation on the event loop (tests, tools); the server derives on its crypto workers. */
const inline: Derive = async (scheme, secret) => (scheme.kind === 'pbm' ? pbmKey(scheme.params, secret) : pbmac1Key(scheme.params, secret));

export class MacKeyCache {
  private readonly entries = new Map<string, Buffer>();
  hits = 0;
  misses = 0;

  constructor(private readonly derive: Derive = inline) {}

  /** The HMAC key for `scheme` and `secret`, derived once per distinct input. */
  async key(scheme: MacScheme, secret: Buffer): Promise<Buffer> {
    const hit = this.peek(scheme, secret);
    if (hit) return hit;
    const key = await this.derive(scheme, secret);
    this.put(scheme, secret, key);
    return key;
  }

  /** The key if it was derived before (counted as a hit or a miss). */
  peek(scheme: MacScheme, secret: Buffer): Buffer | undefined {
    const id = this.id(scheme, secret);
    const hit = this.entries.get(id);
    if (!hit) {
      this.misses++;
      return undefined;
    }
    // Least recently used goes first: re-insert to move to the end.
    this.entries.delete(id);
    this.entries.set(id, hit);
    this.hits++;
    return hit;
  }

  /** Remembers a key derived elsewhere (a worker's MAC check) for `scheme` and `secret`. */
  put(scheme: MacScheme, secret: Buffer, key: Buffer): void {
    this.entries.set(this.id(scheme, secret), key);
    if (this.entries.size > MAX) this.entries.delete(this.entries.keys().next().value!);
  }

  private id(scheme: MacScheme, secret: Buffer): string {
    const p = scheme.params;
    const hashOid = scheme.kind === 'pbm' ? scheme.params.owf.oid : scheme.params.prf.oid;
    const len = scheme.kind === 'pbmac1' ? scheme.params.keyLength : 0;
    return `${scheme.kind}|${hashOid}|${p.iterationCount}|${len}|${p.salt.toString('hex')}|${createHash('sha256').update(secret).digest('hex')}`;
  }

  get size(): number {
    return this.entries.size;
  }
}
