import { and, desc, eq, gt, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/client.ts';
import { LOCK_SCHEDULER } from '../db/client.ts';
import { certificates, crlParts, crls, issuers } from '../db/schema.ts';
import type { Metrics } from '../metrics.ts';
import { CrlEntryEncoder, forEachCrlEntry, signedCrlParts, tbsCertListParts, type CrlEntryInput, type TbsParts } from '../pki/crl.ts';
import * as x509ext from '../pki/extensions.ts';
import { revocationReasons } from '../pki/oids.ts';
import type { Issuer } from './issuer.ts';
import { signParts } from './signer.ts';
import type { IssuerRegistry } from './registry.ts';
import { IssuanceError, NotFound } from '../issuance/errors.ts';

export interface CrlOptions {
  publicUrl: string;
  validityHours: number;
  refreshFraction: number;
}

export interface StoredCrl {
  issuerId: string;
  number: number;
  /** 0: the issuer's complete CRL; k > 0: partition k (issuing distribution point). */
  partition: number;
  /** For a delta CRL, the number of its base CRL. */
  baseNumber?: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /**
   * The DER in order, as built or as stored (64 KiB encoder chunks, or crl_parts rows): what the
   * HTTP route streams, so a 50 MB CRL is never copied per request.
   */
  chunks: readonly Uint8Array[];
  /** Total DER length. */
  size: number;
  /** The DER in one buffer: a fresh concatenation of `chunks` on each read when there are several. */
  readonly der: Buffer;
}

/** What a CRL file name addresses: `<id>.crl`, `<id>-p<k>.crl`, `<id>-delta.crl`, `<id>-p<k>-delta.crl`. */
export interface CrlScope {
  issuerId: string;
  partition: number;
  delta: boolean;
}

/** A stored CRL's row without its DER. */
interface CrlMeta {
  id: number;
  number: number;
  baseNumber: number | null;
  thisUpdate: Date;
  nextUpdate: Date;
  parts: number;
}

export interface CrlPublisherTuning {
  /** Revoked rows read per query while building (keyset pages). */
  pageSize?: number;
  /** DER bytes per crl_parts row; CRLs up to this size stay inline in crls.der. */
  partBytes?: number;
}

function storedCrl(fields: Omit<StoredCrl, 'der' | 'chunks' | 'size'>, chunks: readonly Uint8Array[], size: number): StoredCrl {
  return {
    ...fields,
    chunks,
    size,
    get der() {
      const c = chunks[0];
      return chunks.length === 1 ? Buffer.from(c.buffer, c.byteOffset, c.length) : Buffer.concat(chunks, size);
    },
  };
}

type Row = { serial: string; revokedAt: Date | null; reason: number | null; invalidityDate: Date | null };

/**
 * Builds and stores CRLs: the issuer's complete CRL (partition 0), one per partition when
 * `options.crlPartitions > 1` (RFC 5280 issuing distribution point; a certificate's partition is
 * fixed at issuance), and delta CRLs when `options.deltaCrlHours > 0` (RFC 5280 5.2.4; complete and
 * delta CRLs share one number sequence). Numbers come from `issuers.crl_number`, incremented under
 * that row's lock in the transaction that reads the revoked set: with several instances on one
 * PostgreSQL a higher number always sees at least what a lower one saw.
 */
export class CrlPublisher {
  /** Per scope: the build running now and the one queued after it. */
  private running = new Map<string, { p: Promise<StoredCrl>; again?: Promise<StoredCrl> }>();
  /**
   * Entry sets of base CRLs (delta computation), by `issuer/partition/number`: serial (its DER
   * INTEGER content as a latin1 string, half a hex string's size) → reason + 256 × the number of
   * the delta run that last saw it listed.
   */
  private baseSets = new Map<string, Map<string, number>>();
  private deltaRuns = 0;
  /**
   * The newest stored CRL per scope with its DER, by crls.id: requests for an unchanged CRL read
   * one small row, not the DER (50 MB for a million entries); another instance's newer CRL is
   * noticed by its id and loaded once.
   */
  private newest = new Map<string, { id: number; crl: StoredCrl }>();
  private loading = new Map<number, Promise<{ chunks: Uint8Array[]; size: number }>>();
  private readonly pageSize: number;
  private readonly partBytes: number;

  constructor(
    private readonly database: Database,
    private readonly registry: IssuerRegistry,
    private readonly metrics: Metrics,
    private readonly opts: CrlOptions,
    tuning: CrlPublisherTuning = {},
  ) {
    this.pageSize = tuning.pageSize ?? CRL_PAGE;
    this.partBytes = tuning.partBytes ?? CRL_PART_BYTES;
  }

  url(scope: CrlScope): string {
    const p = scope.partition > 0 ? `-p${scope.partition}` : '';
    return `${this.opts.publicUrl}/crl/${scope.issuerId}${p}${scope.delta ? '-delta' : ''}.crl`;
  }

  /** Resolves a CRL file name (without `.crl`) to its scope; undefined if no issuer matches. */
  async parseFileName(name: string): Promise<CrlScope | undefined> {
    const whole: CrlScope = { issuerId: name, partition: 0, delta: false };
    const m = /^(.+?)(?:-p(\d{1,4}))?(-delta)?$/.exec(name);
    const split: CrlScope | undefined = m && (m[2] || m[3]) ? { issuerId: m[1], partition: m[2] ? Number(m[2]) : 0, delta: !!m[3] } : undefined;
    // Known issuers first: only a name matching neither costs a (rate-limited) registry reload.
    if (this.registry.peek(name)) return whole;
    if (split && this.registry.peek(split.issuerId)) return split;
    if (await this.registry.get(name)) return whole;
    if (split && (await this.registry.get(split.issuerId))) return split;
    return undefined;
  }

  /**
   * After a revocation state change: with deltas on, rebuild the deltas (cheap; the complete CRLs
   * follow on schedule); otherwise rebuild the complete CRL and the certificate's partition.
   */
  async afterChange(issuerId: string, partition: number): Promise<void> {
    const issuer = await this.registry.get(issuerId);
    if (!issuer) return;
    const scopes = partition > 0 ? [0, partition] : [0];
    const delta = (issuer.options.deltaCrlHours ?? 0) > 0;
    await Promise.all(scopes.map((p) => this.regenerate(issuerId, p, delta)));
  }

  /**
   * Regenerates one CRL. Calls arriving while one is being built share the build after it, so a
   * burst of revocations costs two builds, and each caller's change is in the CRL it awaits.
   */
  regenerate(issuerId: string, partition = 0, delta = false): Promise<StoredCrl> {
    const key = `${issuerId}/${partition}/${delta}`;
    const build = () => (delta ? this.generateDelta(issuerId, partition) : this.generate(issuerId, partition));
    const cur = this.running.get(key);
    if (!cur) {
      const p = build().finally(() => this.advance(key));
      this.running.set(key, { p });
      return p;
    }
    if (!cur.again) cur.again = cur.p.catch(() => undefined).then(build);
    return cur.again;
  }

  private advance(key: string): void {
    const cur = this.running.get(key);
    if (!cur?.again) {
      this.running.delete(key);
      return;
    }
    const p = cur.again.finally(() => this.advance(key));
    this.running.set(key, { p });
  }

  /** Builds, signs and stores a complete CRL (partition 0) or a partition's CRL now. */
  async generate(issuerId: string, partition = 0): Promise<StoredCrl> {
    const issuer = await this.requireIssuer(issuerId);
    const hours = issuer.options.crlValidityHours ?? this.opts.validityHours;
    const deltaOn = (issuer.options.deltaCrlHours ?? 0) > 0;
    const stored = await this.database.db.transaction(async (tx) => {
      const number = await nextNumber(tx, issuerId);
      const thisUpdate = nowSeconds();
      const nextUpdate = new Date(thisUpdate.getTime() + hours * 3600_000);
      // Page through the revoked set and encode as we go: 100,000 entries never sit in memory as rows.
      const entries = new CrlEntryEncoder();
      let after = '';
      for (;;) {
        const page = await revokedRows(tx, issuerId, partition, thisUpdate, { after, limit: this.pageSize });
        for (const e of entriesOf(page, thisUpdate)) entries.add(e);
        if (page.length < this.pageSize) break;
        after = page[page.length - 1].serial;
      }
      const extensions = [x509ext.authorityKeyIdentifier(issuer.keyId), x509ext.crlNumber(number)];
      if (partition > 0) extensions.push(x509ext.issuingDistributionPoint({ url: this.url({ issuerId, partition, delta: false }), onlyContainsUserCerts: true }));
      if (deltaOn) extensions.push(x509ext.freshestCrl([this.url({ issuerId, partition, delta: true })]));
      const count = entries.count;
      const signed = await this.sign(issuer, thisUpdate, nextUpdate, entries, extensions);
      const { id, chunks } = await this.store(tx, { issuerId, number, partition, thisUpdate, nextUpdate, entries: count }, signed);
      return { id, crl: storedCrl({ issuerId, number, partition, thisUpdate, nextUpdate }, chunks, signed.length) };
    });
    this.remember(stored.id, stored.crl, false);
    this.metrics.crls.inc({ issuer: issuerId });
    return stored.crl;
  }

  /**
   * A delta CRL against the newest complete CRL of the scope: entries whose status changed since
   * (new or different reason), and removeFromCRL for suspensions lifted since (RFC 5280 5.3.1).
   */
  async generateDelta(issuerId: string, partition = 0): Promise<StoredCrl> {
    const issuer = await this.requireIssuer(issuerId);
    const hours = issuer.options.deltaCrlHours || 1;
    let base = await this.latestStored(issuerId, partition, false);
    if (!base) base = await this.generate(issuerId, partition);
    const baseSet = this.baseSet(base);
    const stored = await this.database.db.transaction(async (tx) => {
      const number = await nextNumber(tx, issuerId);
      const thisUpdate = nowSeconds();
      const nextUpdate = new Date(thisUpdate.getTime() + hours * 3600_000);
      // Current entries in pages, each compared with the base and stamped as still listed with this
      // run's number; base entries left unstamped were lifted (removeFromCRL).
      const run = ++this.deltaRuns;
      const entries = new CrlEntryEncoder();
      let after = '';
      for (;;) {
        const page = await revokedRows(tx, issuerId, partition, thisUpdate, { after, limit: this.pageSize });
        const changed = page.filter((r) => {
          const key = Buffer.from(r.serial, 'hex').toString('latin1');
          const was = baseSet.get(key);
          if (was !== undefined) baseSet.set(key, (was % 256) + run * 256);
          return was === undefined || was % 256 !== (r.reason ?? 0);
        });
        for (const e of entriesOf(changed, thisUpdate)) entries.add(e);
        if (page.length < this.pageSize) break;
        after = page[page.length - 1].serial;
      }
      for (const [key, v] of baseSet) {
        if (Math.floor(v / 256) !== run) entries.add({ serial: Buffer.from(key, 'latin1'), revocationDate: thisUpdate, reason: revocationReasons.removeFromCRL });
      }
      const count = entries.count;
      const extensions = [x509ext.authorityKeyIdentifier(issuer.keyId), x509ext.crlNumber(number), x509ext.deltaCrlIndicator(base!.number)];
      if (partition > 0) extensions.push(x509ext.issuingDistributionPoint({ url: this.url({ issuerId, partition, delta: false }), onlyContainsUserCerts: true }));
      const signed = await this.sign(issuer, thisUpdate, nextUpdate, entries, extensions);
      const { id, chunks } = await this.store(tx, { issuerId, number, baseNumber: base!.number, partition, thisUpdate, nextUpdate, entries: count }, signed);
      return { id, crl: storedCrl({ issuerId, number, partition, baseNumber: base!.number, thisUpdate, nextUpdate }, chunks, signed.length) };
    });
    this.remember(stored.id, stored.crl, true);
    this.metrics.crls.inc({ issuer: issuerId });
    return stored.crl;
  }

  private baseSet(base: StoredCrl): Map<string, number> {
    const key = `${base.issuerId}/${base.partition}/${base.number}`;
    let set = this.baseSets.get(key);
    if (!set) {
      const entries = new Map<string, number>();
      // Walked in place: no entry objects for a base of a million entries.
      forEachCrlEntry(base.der, (serial, reason) => entries.set(Buffer.from(serial.buffer, serial.byteOffset, serial.length).toString('latin1'), reason));
      set = entries;
      for (const k of this.baseSets.keys()) if (k.startsWith(`${base.issuerId}/${base.partition}/`)) this.baseSets.delete(k);
      this.baseSets.set(key, set);
    }
    return set;
  }

  /** Signs the TBS part by part: the encoded entries are neither concatenated nor copied. */
  private async sign(issuer: Issuer, thisUpdate: Date, nextUpdate: Date, entries: Iterable<CrlEntryInput>, extensions: Uint8Array[]): Promise<TbsParts> {
    const tbs = tbsCertListParts({ signatureAlgorithm: issuer.signer.algorithmIdentifier, issuer: issuer.subjectDer, thisUpdate, nextUpdate, entries, extensions });
    const signature = await signParts(issuer.signer, tbs.parts);
    return signedCrlParts(tbs, issuer.signer.algorithmIdentifier, signature);
  }

  /**
   * Inserts the CRL row. A CRL larger than one part goes to crl_parts, each row a run of encoder
   * chunks joined (one part's bytes at a time) and written by its own statement.
   */
  private async store(tx: Tx, row: Omit<typeof crls.$inferInsert, 'der' | 'parts'>, signed: TbsParts): Promise<{ id: number; chunks: readonly Uint8Array[] }> {
    if (signed.length <= this.partBytes) {
      const der = Buffer.concat(signed.parts, signed.length);
      const [r] = await tx.insert(crls).values({ ...row, der, parts: 0 }).returning({ id: crls.id });
      return { id: r.id, chunks: [der] };
    }
    const groups = groupParts(signed.parts, this.partBytes);
    const [r] = await tx
      .insert(crls)
      .values({ ...row, der: Buffer.alloc(0), parts: groups.length })
      .returning({ id: crls.id });
    for (let seq = 0; seq < groups.length; seq++) {
      const g = groups[seq];
      await tx.insert(crlParts).values({ crlId: r.id, seq, bytes: g.length === 1 ? g[0] : Buffer.concat(g) });
    }
    return { id: r.id, chunks: signed.parts };
  }

  private remember(id: number, crl: StoredCrl, delta: boolean): void {
    const key = `${crl.issuerId}/${crl.partition}/${delta}`;
    const cur = this.newest.get(key);
    if (!cur || cur.id < id) this.newest.set(key, { id, crl });
  }

  /** A stored CRL's DER: inline, or its parts read one at a time (kept as they come, not joined). */
  private async loadChunks(meta: CrlMeta): Promise<{ chunks: Uint8Array[]; size: number }> {
    const db = this.database.db;
    if (meta.parts === 0) {
      const [r] = await db.select({ der: crls.der }).from(crls).where(eq(crls.id, meta.id));
      return { chunks: [r.der], size: r.der.length };
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (let seq = 0; seq < meta.parts; seq++) {
      const [r] = await db.select({ bytes: crlParts.bytes }).from(crlParts).where(and(eq(crlParts.crlId, meta.id), eq(crlParts.seq, seq)));
      if (!r) throw new IssuanceError('internal', `CRL ${meta.id}: part ${seq} missing`);
      chunks.push(r.bytes);
      size += r.bytes.length;
    }
    return { chunks, size };
  }

  private async requireIssuer(issuerId: string): Promise<Issuer> {
    const issuer = await this.registry.get(issuerId);
    if (!issuer) throw new NotFound(`unknown issuer ${issuerId}`);
    return issuer;
  }

  /** The newest stored CRL's row of a scope, without its DER. */
  private async latestMeta(issuerId: string, partition: number, delta: boolean): Promise<CrlMeta | undefined> {
    const [row] = await this.database.db
      .select({ id: crls.id, number: crls.number, baseNumber: crls.baseNumber, thisUpdate: crls.thisUpdate, nextUpdate: crls.nextUpdate, parts: crls.parts })
      .from(crls)
      .where(and(eq(crls.issuerId, issuerId), eq(crls.partition, partition), delta ? isNotNull(crls.baseNumber) : isNull(crls.baseNumber)))
      .orderBy(desc(crls.number))
      .limit(1);
    return row;
  }

  /** The newest stored CRL of a scope with its DER, from the cache when it is still the newest. */
  private async latestStored(issuerId: string, partition: number, delta: boolean): Promise<StoredCrl | undefined> {
    const meta = await this.latestMeta(issuerId, partition, delta);
    if (!meta) return undefined;
    const cached = this.newest.get(`${issuerId}/${partition}/${delta}`);
    if (cached?.id === meta.id) return cached.crl;
    // Concurrent requests for a CRL not yet in memory share one load.
    let loading = this.loading.get(meta.id);
    if (!loading) {
      loading = this.loadChunks(meta).finally(() => this.loading.delete(meta.id));
      this.loading.set(meta.id, loading);
    }
    const { chunks, size } = await loading;
    const crl = storedCrl(
      { issuerId, number: meta.number, partition, baseNumber: meta.baseNumber ?? undefined, thisUpdate: meta.thisUpdate, nextUpdate: meta.nextUpdate },
      chunks,
      size,
    );
    this.remember(meta.id, crl, delta);
    return crl;
  }

  /** The newest CRL of a scope, building one if none exists yet (or if the delta predates its base). */
  async latest(issuerId: string, partition = 0, delta = false): Promise<StoredCrl | undefined> {
    const issuer = await this.registry.get(issuerId);
    if (!issuer) return undefined;
    if (delta && !((issuer.options.deltaCrlHours ?? 0) > 0)) return undefined;
    if (partition > 0 && partition > (issuer.options.crlPartitions ?? 0) && !(await this.partitionUsed(issuerId, partition))) return undefined;
    const found = await this.latestStored(issuerId, partition, delta);
    if (found && delta) {
      const base = await this.latestMeta(issuerId, partition, false);
      if (base && found.baseNumber !== base.number) return this.regenerate(issuerId, partition, true);
    }
    return found ?? this.regenerate(issuerId, partition, delta);
  }

  private async partitionUsed(issuerId: string, partition: number): Promise<boolean> {
    const [r] = await this.database.db
      .select({ n: sql<number>`1` })
      .from(certificates)
      .where(and(eq(certificates.issuerId, issuerId), eq(certificates.crlPartition, partition)))
      .limit(1);
    return !!r;
  }

  /**
   * Scheduled job: refresh every CRL (complete, partitions, deltas) that is missing or past its
   * refresh point. One instance at a time, through an advisory lock.
   */
  async refreshDue(): Promise<string[]> {
    const done: string[] = [];
    await this.database.withLock(
      LOCK_SCHEDULER,
      async () => {
        await this.registry.load();
        for (const issuer of this.registry.list()) {
          const partitions = [0, ...(await this.partitionsInUse(issuer))];
          const deltaOn = (issuer.options.deltaCrlHours ?? 0) > 0;
          for (const partition of partitions) {
            for (const delta of deltaOn ? [false, true] : [false]) {
              const row = await this.latestMeta(issuer.id, partition, delta);
              const base = delta ? await this.latestMeta(issuer.id, partition, false) : undefined;
              const now = Date.now();
              const due =
                !row ||
                (delta && base && row.baseNumber !== base.number) ||
                now >= row.nextUpdate.getTime() - (row.nextUpdate.getTime() - row.thisUpdate.getTime()) * this.opts.refreshFraction;
              if (due) {
                await this.regenerate(issuer.id, partition, delta);
                done.push(this.url({ issuerId: issuer.id, partition, delta }));
              }
            }
          }
        }
      },
      false,
    );
    return done;
  }

  /** Partitions configured now plus any still named by unexpired certificates (lowering the setting must not orphan them). */
  private async partitionsInUse(issuer: Issuer): Promise<number[]> {
    const set = new Set<number>();
    for (let p = 1; p <= (issuer.options.crlPartitions ?? 0) && (issuer.options.crlPartitions ?? 0) > 1; p++) set.add(p);
    const rows = await this.database.db
      .selectDistinct({ p: certificates.crlPartition })
      .from(certificates)
      .where(and(eq(certificates.issuerId, issuer.id), gt(certificates.crlPartition, 0), gt(certificates.notAfter, new Date())));
    rows.forEach((r) => set.add(r.p));
    return [...set].sort((a, b) => a - b);
  }
}

async function nextNumber(tx: Tx, issuerId: string): Promise<number> {
  const [n] = await tx
    .update(issuers)
    .set({ crlNumber: sql`${issuers.crlNumber} + 1` })
    .where(eq(issuers.id, issuerId))
    .returning({ number: issuers.crlNumber });
  if (!n) throw new NotFound(`unknown issuer ${issuerId}`);
  return n.number;
}

const CRL_PAGE = 2_000;
/**
 * 64 KiB: one encoder chunk per part, written as it is (no joined copy), 128 KiB of hex text on the
 * text protocol. Larger parts cost fewer statements but leave megabytes of short-lived buffers per
 * statement, which a million-entry CRL's 50 MB of them pile up faster than the GC returns them.
 */
const CRL_PART_BYTES = 64 * 1024;

/**
 * Revoked and suspended certificates of the scope; entries stay until the certificate expires
 * (RFC 5280 5.1.2.6). With `page`, one page in serial order after `page.after` (keyset paging on
 * the issuer/serial index). Each page is read after the CRL number's row lock was taken, so it
 * sees every revocation committed before this CRL's number was allocated.
 */
function revokedRows(tx: Tx, issuerId: string, partition: number, at: Date, page?: { after: string; limit: number }): Promise<Row[]> {
  const q = tx
    .select({
      serial: certificates.serial,
      revokedAt: certificates.revokedAt,
      reason: certificates.revocationReason,
      invalidityDate: certificates.invalidityDate,
    })
    .from(certificates)
    .where(
      and(
        eq(certificates.issuerId, issuerId),
        // Literal, not parameters: the partial index certificates_crl_serial_idx matches only a
        // predicate the planner can prove, also in a prepared statement's generic plan.
        sql`${certificates.status} in ('revoked', 'hold')`,
        gt(certificates.notAfter, at),
        partition > 0 ? eq(certificates.crlPartition, partition) : undefined,
        page?.after ? gt(certificates.serial, page.after) : undefined,
      ),
    );
  return page ? q.orderBy(certificates.serial).limit(page.limit) : q;
}

/** Lazily: a 100,000-entry CRL must not hold a second array of entry objects. */
function* entriesOf(rows: Row[], fallback: Date): Iterable<CrlEntryInput> {
  for (const r of rows) {
    yield { serial: r.serial, revocationDate: r.revokedAt ?? fallback, reason: r.reason ?? undefined, invalidityDate: r.invalidityDate ?? undefined };
  }
}

/** Consecutive runs of `parts` of at most `bytes` each (or one part alone when it is larger). */
function groupParts(parts: readonly Uint8Array[], bytes: number): Uint8Array[][] {
  const groups: Uint8Array[][] = [];
  let cur: Uint8Array[] = [];
  let len = 0;
  for (const p of parts) {
    if (cur.length && len + p.length > bytes) {
      groups.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(p);
    len += p.length;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

function nowSeconds(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}
