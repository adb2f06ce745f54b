/**
 * CAA (RFC 8659) for DNS identifiers, checked once a challenge has passed: the relevant record set is
 * the first non-empty one found at the name and then at each parent (§3); the CA may issue when it
 * holds no `issue` (for a wildcard: `issuewild`, else `issue`) property, or when one names an issuer
 * domain of this CA (CERTGATE_ACME_CAA_IDENTITIES). An unknown tag flagged critical forbids issuance
 * (§4.1). A lookup that fails (rather than answering "no records") fails the validation: the CA
 * cannot know it may issue.
 *
 * RFC 8657: a property naming this CA authorizes only the account its `accounturi` parameter names
 * and only the methods its `validationmethods` parameter lists. A property whose parameters do not
 * parse (RFC 8659 §4.2), or that repeats one of these two, authorizes nothing (fail closed).
 */
import { ValidationError, type Resolution } from './resolve.ts';

export interface CaaRecord {
  critical: boolean;
  tag: string;
  value: string;
}

/** The RFC 8657 parameters this CA enforces. */
const BINDING = new Set(['accounturi', 'validationmethods']);

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

/** Who asks (RFC 8657): the ACME account and the validation method that passed. */
export interface CaaRequester {
  /** Whether an `accounturi` parameter names the requesting account. */
  isAccount(uri: string): boolean;
  /** The ACME challenge type that validated the name, e.g. `http-01`. */
  method: string;
}

/**
 * issuer-domain-name and parameters of an issue/issuewild value; undefined when malformed (RFC 8659
 * §4.2) or when it repeats an RFC 8657 parameter. Tags are compared case-insensitively.
 */
export function parseIssueValue(value: string): { domain: string; params: Map<string, string> } | undefined {
  const [first, ...rest] = value.split(';');
  const domain = first.trim().toLowerCase();
  const params = new Map<string, string>();
  for (const raw of rest) {
    const p = raw.trim();
    if (!p && rest.length === 1) continue; // "domain;" or ";": no parameters
    const m = /^([A-Za-z0-9](?:-*[A-Za-z0-9])*)[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)$/.exec(p);
    if (!m) return undefined;
    const tag = m[1].toLowerCase();
    if (params.has(tag)) {
      if (BINDING.has(tag)) return undefined; // which account, which methods? neither: fail closed
      continue;
    }
    params.set(tag, m[2]);
  }
  return { domain, params };
}

/** Why a property naming this CA does not authorize this requester (RFC 8657), or undefined when it does. */
function bindingRefuses(params: Map<string, string>, who: CaaRequester | undefined): string | undefined {
  const account = params.get('accounturi');
  if (account !== undefined && !who?.isAccount(account)) return `accounturi=${account.slice(0, 200)} is another account`;
  const methods = params.get('validationmethods');
  if (methods !== undefined) {
    const list = methods.split(',').map((m) => m.trim().toLowerCase());
    if (!who || !list.includes(who.method)) return `validationmethods=${methods.slice(0, 100)} does not list ${who?.method ?? 'the method used'}`;
  }
  return undefined;
}

/**
 * Whether a relevant record set lets a CA with these issuer domain names issue (why not, if not).
 * `who` is checked against RFC 8657 parameters; without it a property carrying them authorizes nothing.
 */
export function caaPermits(records: CaaRecord[], identities: string[], wildcard: boolean, who?: CaaRequester): { ok: true } | { ok: false; reason: string } {
  const unknownCritical = records.find((r) => r.critical && !KNOWN_TAGS.has(r.tag));
  if (unknownCritical) return { ok: false, reason: `an unknown critical CAA property "${unknownCritical.tag.slice(0, 30)}"` };
  const tag = wildcard && records.some((r) => r.tag === 'issuewild') ? 'issuewild' : 'issue';
  const props = records.filter((r) => r.tag === tag);
  if (!props.length) return { ok: true };
  const mine = new Set(identities.map((d) => d.toLowerCase()));
  const refusals: string[] = [];
  for (const p of props) {
    // issuer-domain-name [";" parameters]; an empty domain (";") names no issuer.
    const parsed = parseIssueValue(p.value);
    if (!parsed || !parsed.domain || !mine.has(parsed.domain)) continue;
    const refused = bindingRefuses(parsed.params, who);
    if (!refused) return { ok: true };
    refusals.push(refused);
  }
  if (refusals.length) return { ok: false, reason: `CAA "${tag}" names this CA only with ${refusals.join('; ')}` };
  const named = props.map((p) => p.value.split(';')[0].trim() || '(none)').join(', ');
  return { ok: false, reason: `CAA "${tag}" names ${named.slice(0, 200)}, not ${identities.join(', ')}` };
}

/** Throws a `caa` ValidationError when CAA forbids issuing for the name (a `dns` one when it cannot be read). */
export async function checkCaa(resolution: Pick<Resolution, 'caa'>, name: string, wildcard: boolean, identities: string[], who?: CaaRequester): Promise<void> {
  const { at, records } = await relevantCaa(resolution, name);
  const verdict = caaPermits(records, identities, wildcard, who);
  if (!verdict.ok) throw new ValidationError('caa', `CAA records at ${at} forbid issuance for ${wildcard ? '*.' : ''}${name}: ${verdict.reason}`);
}
