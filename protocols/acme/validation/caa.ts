/**
 * CAA (RFC 8659) for DNS identifiers, checked once a challenge has passed: the relevant record set is
 * the first non-empty one found at the name and then at each parent (§3); the CA may issue when it
 * holds no `issue` (for a wildcard: `issuewild`, else `issue`) property, or when one names an issuer
 * domain of this CA (CERTGATE_ACME_CAA_IDENTITIES). An unknown tag flagged critical forbids issuance
 * (§4.1). A lookup that fails (rather than answering "no records") fails the validation: the CA
 * cannot know it may issue.
 */
import { ValidationError, type Resolution } from './resolve.ts';

export interface CaaRecord {
  critical: boolean;
  tag: string;
  value: string;
}

const KNOWN_TAGS = new Set(['issue', 'issuewild', 'iodef', 'issuemail', 'contactemail', 'contactphone']);

/** The relevant CAA record set of `name` (RFC 8659 §3), and the name it was found at. */
export async function relevantCaa(resolution: Pick<Resolution, 'caa'>, name: string): Promise<{ at?: string; records: CaaRecord[] }> {
  const labels = name.replace(/\.$/, '').split('.');
  for (let i = 0; i < labels.length; i++) {
    const at = labels.slice(i).join('.');
    const records = await resolution.caa(at);
    if (records.length) return { at, records };
  }
  return { records: [] };
}

/** Whether a relevant record set lets a CA with these issuer domain names issue (why not, if not). */
export function caaPermits(records: CaaRecord[], identities: string[], wildcard: boolean): { ok: true } | { ok: false; reason: string } {
  const unknownCritical = records.find((r) => r.critical && !KNOWN_TAGS.has(r.tag));
  if (unknownCritical) return { ok: false, reason: `an unknown critical CAA property "${unknownCritical.tag.slice(0, 30)}"` };
  const tag = wildcard && records.some((r) => r.tag === 'issuewild') ? 'issuewild' : 'issue';
  const props = records.filter((r) => r.tag === tag);
  if (!props.length) return { ok: true };
  const mine = new Set(identities.map((d) => d.toLowerCase()));
  for (const p of props) {
    // issuer-domain-name [";" parameters]; an empty domain (";") names no issuer.
    const domain = p.value.split(';')[0].trim().toLowerCase();
    if (domain && mine.has(domain)) return { ok: true };
  }
  const named = props.map((p) => p.value.split(';')[0].trim() || '(none)').join(', ');
  return { ok: false, reason: `CAA "${tag}" names ${named.slice(0, 200)}, not ${identities.join(', ')}` };
}

/** Throws a `caa` ValidationError when CAA forbids issuing for the name (a `dns` one when it cannot be read). */
export async function checkCaa(resolution: Pick<Resolution, 'caa'>, name: string, wildcard: boolean, identities: string[]): Promise<void> {
  const { at, records } = await relevantCaa(resolution, name);
  const verdict = caaPermits(records, identities, wildcard);
  if (!verdict.ok) throw new ValidationError('caa', `CAA records at ${at} forbid issuance for ${wildcard ? '*.' : ''}${name}: ${verdict.reason}`);
}
