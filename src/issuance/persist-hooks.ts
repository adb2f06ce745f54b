import { IssuanceError } from './errors.ts';
import type { PersistedCertificate, PersistHook, PersistSql } from '../protocol-context.ts';

/**
 * The hooks protocols register to act when a certificate they requested is stored (ACME order
 * completion, SCEP CertPoll, CMP pollRep, EST retry): they run in the insert's transaction, so the
 * certificate and the protocol's state change together or not at all — never a database trigger.
 *
 * Two forms. A SQL hook is a data-modifying statement over the rows just inserted, composed into
 * the writer's one INSERT statement (one round trip: the ACME benchmark's hot path). A function
 * hook runs in a transaction around that statement; rows with one are written one per transaction,
 * so a hook that throws aborts only its own certificate.
 */
export class PersistHooks {
  private readonly fns = new Map<string, Set<PersistHook>>();
  private readonly sqls = new Map<string, string>();
  private version = 0;

  /** A function hook for certificates whose principal's protocol is `protocol`. */
  add(protocol: string, hook: PersistHook): () => void {
    let set = this.fns.get(protocol);
    if (!set) this.fns.set(protocol, (set = new Set()));
    set.add(hook);
    return () => set.delete(hook);
  }

  /**
   * A SQL hook named `key` (registering the same key again replaces it): `fragment(rows)` is one
   * data-modifying statement reading `rows`, a relation of the inserted certificates of `protocol`
   * with columns id, issuer_id, serial, principal, idempotency_key, metadata (jsonb).
   */
  addSql(protocol: string, key: string, fragment: PersistSql): void {
    if (!/^[a-z0-9_-]+$/.test(protocol)) throw new IssuanceError('internal', `persist hook: bad protocol name ${protocol}`);
    const rows = `(select id, issuer_id, serial, principal, idempotency_key, metadata from c where protocol = '${protocol}')`;
    this.sqls.set(`${protocol}:${key}`, fragment(rows));
    this.version++;
  }

  hasFunctionHooks(protocol: string): boolean {
    return (this.fns.get(protocol)?.size ?? 0) > 0;
  }

  async runFunctionHooks(tx: Parameters<PersistHook>[0], protocol: string, persisted: PersistedCertificate): Promise<void> {
    for (const hook of this.fns.get(protocol) ?? []) await hook(tx, persisted);
  }

  /** The SQL hooks as extra CTE members (`, h1 as (…)`), and a version that changes when they do. */
  sqlMembers(): { text: string; version: number } {
    return { text: [...this.sqls.values()].map((f, i) => `,\n  h${i + 1} as (${f})`).join(''), version: this.version };
  }
}
