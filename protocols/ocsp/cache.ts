/**
 * The cache of pre-signed OCSP responses, one per CertID (keyed by the CertID's DER), indexed by
 * certificate (issuer and serial) so that a status change drops every response for it whatever
 * hash algorithm the CertID used. Bounded: past `capacity` the oldest entry goes (Map order is
 * insertion order, and a stored entry is re-inserted).
 */
import type { CertStatusInput } from '../../src/pki/ocsp-response.ts';

/** What the responder knows of one certificate's status. */
export type CertState = CertStatusInput;

/** A pre-signed response for one CertID (the cache's unit). */
export interface CachedResponse {
  key: string;
  issuerId: string;
  serial: string;
  certId: Buffer;
  der: Buffer;
  state: CertState;
  thisUpdate: number;
  nextUpdate: number;
  refreshAt: number;
  etag: string;
  lastModified: string;
  expires: string;
  refreshing?: boolean;
}

export function serialKey(issuerId: string, serial: string): string {
  return issuerId + '|' + serial;
}

export class ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  private readonly bySerial = new Map<string, Set<string>>();

  constructor(private readonly capacity: () => number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedResponse | undefined {
    return this.entries.get(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  values(): IterableIterator<CachedResponse> {
    return this.entries.values();
  }

  /** Whether any response for this certificate is cached. */
  hasSerial(issuerId: string, serial: string): boolean {
    return this.bySerial.has(serialKey(issuerId, serial));
  }

  store(e: CachedResponse): void {
    const prev = this.entries.get(e.key);
    if (prev) this.entries.delete(e.key);
    this.entries.set(e.key, e);
    const sk = serialKey(e.issuerId, e.serial);
    let set = this.bySerial.get(sk);
    if (!set) this.bySerial.set(sk, (set = new Set()));
    set.add(e.key);
    while (this.entries.size > this.capacity()) {
      const oldest = this.entries.values().next().value as CachedResponse;
      this.drop(oldest);
    }
  }

  drop(e: CachedResponse): void {
    this.entries.delete(e.key);
    const sk = serialKey(e.issuerId, e.serial);
    const set = this.bySerial.get(sk);
    if (set) {
      set.delete(e.key);
      if (set.size === 0) this.bySerial.delete(sk);
    }
  }

  /** Removes every response for this certificate; returns those that were cached. */
  takeSerial(issuerId: string, serial: string): CachedResponse[] {
    const sk = serialKey(issuerId, serial);
    const set = this.bySerial.get(sk);
    if (!set) return [];
    const dropped: CachedResponse[] = [];
    for (const k of set) {
      const e = this.entries.get(k);
      if (e) dropped.push(e);
      this.entries.delete(k);
    }
    this.bySerial.delete(sk);
    return dropped;
  }

  dropIssuer(issuerId: string): void {
    for (const e of [...this.entries.values()]) if (e.issuerId === issuerId) this.drop(e);
  }

  clear(): void {
    this.entries.clear();
    this.bySerial.clear();
  }
}
