/**
 * Request authentication (RFC 8555 §6.2-6.4): flattened JWS, an allowed asymmetric algorithm,
 * exactly one of `jwk`/`kid`, the request URL in `url`, a fresh `nonce`. Signatures are checked
 * by node:crypto with keys made from the JWK (cached per account key).
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

import type { ExtraRead, NonceService } from './nonce.ts';
import { problem } from './problems.ts';
import { acmeAccounts } from './schema.ts';
import { parseClientJson } from '../../src/http/body.ts';

export const supportedAlgorithms = ['RS256', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwsAlg = (typeof supportedAlgorithms)[number];

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface ProtectedHeader {
  alg: string;
  nonce?: string;
  url?: string;
  jwk?: JWK;
  kid?: string;
  [k: string]: unknown;
}

export type AccountRow = typeof acmeAccounts.$inferSelect;

export interface Verified {
  header: ProtectedHeader;
  /** Decoded payload bytes; empty for POST-as-GET. */
  payload: Buffer;
  /** Parsed JSON payload, undefined for POST-as-GET (empty payload). */
  body: unknown;
  account?: AccountRow;
  jwk?: JWK;
  key: KeyObject;
  /** The value of `AuthOptions.extra` (parsed JSON), when asked for. */
  extra?: unknown;
}

/** Parses a flattened JWS JSON body; anything else is `malformed`. */
export function parseFlattened(text: string | unknown): FlattenedJws {
  let j: unknown = text;
  if (typeof text === 'string') {
    try {
      j = parseClientJson(text);
    } catch {
      throw problem('malformed', 'the request body is not JSON (expected a flattened JWS)');
    }
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw problem('malformed', 'the request body is not a flattened JWS object');
  const o = j as Record<string, unknown>;
  if ('signatures' in o) throw problem('malformed', 'JWS with several signatures are not accepted (RFC 8555 §6.2)');
  if ('header' in o) throw problem('malformed', 'the JWS unprotected header must not be used (RFC 8555 §6.2)');
  for (const k of ['protected', 'payload', 'signature'] as const) {
    if (typeof o[k] !== 'string' || !/^[A-Za-z0-9_-]*$/.test(o[k] as string)) throw problem('malformed', `the JWS "${k}" member is missing or not base64url`);
  }
  if (!(o.protected as string)) throw problem('malformed', 'the JWS protected header is empty');
  return { protected: o.protected as string, payload: o.payload as string, signature: o.signature as string };
}

export function decodeHeader(jws: FlattenedJws): ProtectedHeader {
  let h: unknown;
  try {
    h = parseClientJson(Buffer.from(jws.protected, 'base64url').toString('utf8'));
  } catch {
    throw problem('malformed', 'the JWS protected header is not base64url JSON');
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw problem('malformed', 'the JWS protected header is not a JSON object');
  const header = h as ProtectedHeader;
  if (typeof header.alg !== 'string') throw problem('malformed', 'the JWS protected header has no "alg"');
  // ACME defines no critical JWS extensions (so no RFC 7797 unencoded payloads either).
  if (header.crit !== undefined) throw problem('malformed', 'the JWS protected header must not carry "crit"');
  return header;
}

export function checkAlg(alg: string): JwsAlg {
  if (!(supportedAlgorithms as readonly string[]).includes(alg)) {
    throw problem('badSignatureAlgorithm', `JWS algorithm "${alg.slice(0, 20)}" is not supported; use one of ${supportedAlgorithms.join(', ')}`, {
      algorithms: [...supportedAlgorithms],
    });
  }
  return alg as JwsAlg;
}

const curveForAlg: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** The public key of a JWK, checked against the algorithm and the key policy. */
export function keyFromJwk(jwk: unknown, alg: JwsAlg): { key: KeyObject; jwk: JWK } {
  if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw problem('malformed', 'the "jwk" header is not a JSON object');
  const j = jwk as Record<string, unknown>;
  if ('d' in j || 'p' in j || 'q' in j || 'k' in j) throw problem('badPublicKey', 'the "jwk" header must hold a public key only');
  let pub: JWK;
  if (j.kty === 'RSA' && typeof j.n === 'string' && typeof j.e === 'string') {
    if (alg !== 'RS256') throw problem('badSignatureAlgorithm', `algorithm ${alg} does not fit an RSA key`, { algorithms: [...supportedAlgorithms] });
    pub = { kty: 'RSA', n: j.n, e: j.e };
  } else if (j.kty === 'EC' && typeof j.crv === 'string' && typeof j.x === 'string' && typeof j.y === 'string') {
    if (curveForAlg[alg] !== j.crv) throw problem('badSignatureAlgorithm', `algorithm ${alg} does not fit an EC key on ${String(j.crv).slice(0, 10)}`, { algorithms: [...supportedAlgorithms] });
    pub = { kty: 'EC', crv: j.crv, x: j.x, y: j.y };
  } else if (j.kty === 'OKP' && j.crv === 'Ed25519' && typeof j.x === 'string') {
    if (alg !== 'EdDSA') throw problem('badSignatureAlgorithm', `algorithm ${alg} does not fit an Ed25519 key`, { algorithms: [...supportedAlgorithms] });
    pub = { kty: 'OKP', crv: 'Ed25519', x: j.x };
  } else {
    throw problem('badPublicKey', 'unsupported JWK: use RSA (2048-8192 bits), EC P-256/P-384/P-521 or Ed25519');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw problem('badPublicKey', 'the JWK is not a valid public key');
  }
  if (pub.kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048 || bits > 8192) throw problem('badPublicKey', `RSA account keys must have 2048 to 8192 bits, not ${bits}`);
  }
  return { key, jwk: pub };
}

export const thumbprint = (jwk: JWK) => calculateJwkThumbprint(jwk, 'sha256');

/** node:crypto parameters of each JWS algorithm (RFC 7518 §3): digest and ECDSA signature encoding. */
const verifyParams: Record<JwsAlg, { digest: string | null; p1363: boolean }> = {
  RS256: { digest: 'sha256', p1363: false },
  ES256: { digest: 'sha256', p1363: true },
  ES384: { digest: 'sha384', p1363: true },
  ES512: { digest: 'sha512', p1363: true },
  EdDSA: { digest: null, p1363: false },
};
/** Exact JWS signature lengths of the ECDSA algorithms (r || s, RFC 7518 §3.4). */
const ecdsaSigLength: Partial<Record<JwsAlg, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/**
 * Verifies the signature of `jws` (flattened, compact serialisation input `protected.payload`)
 * with `key`; failure is `malformed`, as in Boulder. node:crypto's one-shot `verify` does the
 * maths synchronously (perf: jose went through WebCrypto, an async thread-pool job per request).
 * The algorithm was checked against the key by the caller (checkAlg + keyFromJwk / account key).
 */
export function verifySignature(jws: FlattenedJws, key: KeyObject, alg: JwsAlg): Buffer {
  const sig = Buffer.from(jws.signature, 'base64url');
  const p = verifyParams[alg];
  const want = ecdsaSigLength[alg];
  let ok = false;
  if (want === undefined || sig.length === want) {
    try {
      const data = Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii');
      ok = cryptoVerify(p.digest, data, p.p1363 ? { key, dsaEncoding: 'ieee-p1363' } : key, sig);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw problem('malformed', 'JWS signature verification failed');
  return Buffer.from(jws.payload, 'base64url');
}

/** Account keys, imported once per account key (createPublicKey from a JWK is costly). */
const keyCache = new Map<string, KeyObject>();

export interface AuthOptions {
  /** `jwk` (newAccount), `kid` (everything else) or either (revokeCert). */
  key: 'jwk' | 'kid' | 'either';
  url: string;
  accountUrlPrefix: string;
  nonces: NonceService;
  /** A scalar subquery read in the same statement as the nonce and the account (kid requests). */
  extra?: ExtraRead;
}

/** A JWS whose protected header passed the §6.2 rules (signature not yet checked). */
interface Checked {
  jws: FlattenedJws;
  header: ProtectedHeader;
  alg: JwsAlg;
  nonce: string;
  hasJwk: boolean;
}

/** §6.2 header rules: an allowed algorithm, a nonce, the request URL, exactly one of jwk/kid. */
function checkRequest(body: string, opts: Pick<AuthOptions, 'key' | 'url'>): Checked {
  const jws = parseFlattened(body);
  const header = decodeHeader(jws);
  const alg = checkAlg(header.alg);
  if (typeof header.nonce !== 'string' || !header.nonce) throw problem('badNonce', 'the JWS protected header has no "nonce"');
  if (typeof header.url !== 'string') throw problem('malformed', 'the JWS protected header has no "url"');
  if (header.url !== opts.url) throw problem('unauthorized', `the JWS "url" (${header.url.slice(0, 200)}) is not the URL requested (${opts.url})`);
  const hasJwk = header.jwk !== undefined;
  const hasKid = header.kid !== undefined;
  if (hasJwk && hasKid) throw problem('malformed', 'the JWS protected header must carry either "jwk" or "kid", not both');
  if (!hasJwk && !hasKid) throw problem('malformed', 'the JWS protected header must carry "jwk" or "kid"');
  if (opts.key === 'jwk' && !hasJwk) throw problem('malformed', 'this request must be signed with a "jwk" header (no account yet)');
  if (opts.key === 'kid' && !hasKid) throw problem('malformed', 'this request must be signed with the account "kid"');
  return { jws, header, alg, nonce: header.nonce, hasJwk };
}

/** The account id a kid names, or accountDoesNotExist. */
function accountIdOf(header: ProtectedHeader, prefix: string): string {
  if (typeof header.kid !== 'string' || !header.kid.startsWith(prefix)) {
    throw problem('accountDoesNotExist', 'the "kid" is not an account URL of this server');
  }
  const id = header.kid.slice(prefix.length);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw problem('accountDoesNotExist', `no account ${header.kid.slice(0, 200)}`);
  return id;
}

function parsePayload(payload: Buffer): unknown {
  if (payload.length === 0) return undefined;
  try {
    return parseClientJson(payload.toString('utf8'));
  } catch {
    throw problem('malformed', 'the JWS payload is not JSON');
  }
}

/** Whether a JWS algorithm fits an account key (RS256 for RSA, EdDSA for Ed25519, ESxxx by curve). */
function algFits(alg: JwsAlg, jwk: JWK): boolean {
  return jwk.kty === 'RSA' ? alg === 'RS256' : jwk.kty === 'OKP' ? alg === 'EdDSA' : curveForAlg[alg] === jwk.crv;
}

/** The §6.2/§7.3.6 checks of the account a kid request names, as read with its nonce. */
export function checkAccount(account: AccountRow | undefined, kid: unknown, alg: JwsAlg): AccountRow {
  if (!account) throw problem('accountDoesNotExist', `no account ${String(kid).slice(0, 200)}`);
  if (account.status !== 'valid') throw problem('unauthorized', `account is ${account.status}`, { status: 401 }); // RFC 8555 §7.3.6
  if (!algFits(alg, account.jwk as JWK)) throw problem('badSignatureAlgorithm', `algorithm ${alg} does not fit the account key`, { algorithms: [...supportedAlgorithms] });
  return account;
}

/** The answer to a nonce that is not fresh (§6.5). */
export const staleNonce = () => problem('badNonce', 'the nonce is unknown, expired or already used; retry with the one in Replay-Nonce');

/** A kid request verified with a known account key; the nonce and the account are not yet checked. */
export interface Preverified {
  header: ProtectedHeader;
  alg: JwsAlg;
  payload: Buffer;
  body: unknown;
  accountId: string;
  thumbprint: string;
  key: KeyObject;
  nonce: string;
}

/**
 * The header rules and the signature of a kid request, when this process knows the account's key
 * (no statement). Undefined when it does not, or when the signature does not verify with the key
 * it knows (it may have changed elsewhere): `authenticate` then decides, reading the account.
 */
export function preverify(body: string, opts: Pick<AuthOptions, 'key' | 'url' | 'accountUrlPrefix' | 'nonces'>): Preverified | undefined {
  const ch = checkRequest(body, opts);
  if (ch.hasJwk) return undefined;
  const accountId = accountIdOf(ch.header, opts.accountUrlPrefix);
  const known = opts.nonces.accountKeys.get(accountId);
  if (!known || !algFits(ch.alg, known.jwk)) return undefined;
  let payload: Buffer;
  try {
    payload = verifySignature(ch.jws, known.key, ch.alg);
  } catch {
    return undefined;
  }
  return { header: ch.header, alg: ch.alg, payload, body: parsePayload(payload), accountId, thumbprint: known.thumbprint, key: known.key, nonce: ch.nonce };
}

/** Authenticates an ACME POST: §6.2 header rules, signature, then the nonce (burned once verified). */
export async function authenticate(body: string, opts: AuthOptions): Promise<Verified> {
  const { jws, header, alg, nonce, hasJwk } = checkRequest(body, opts);
  let key: KeyObject;
  let account: AccountRow | undefined;
  let jwk: JWK | undefined;
  let fresh: boolean;
  let extra: unknown;
  if (hasJwk) {
    ({ key, jwk } = keyFromJwk(header.jwk, alg));
    fresh = await opts.nonces.redeem(nonce);
  } else {
    const id = accountIdOf(header, opts.accountUrlPrefix);
    // One round trip: burn the nonce and read the account.
    const read = await opts.nonces.redeemWithAccount(nonce, id, opts.extra);
    ({ fresh, extra } = read);
    const a = (account = checkAccount(read.account, header.kid, alg));
    let cached = keyCache.get(a.thumbprint);
    if (!cached) {
      cached = keyFromJwk(a.jwk, alg).key;
      if (keyCache.size > 10_000) keyCache.clear();
      keyCache.set(a.thumbprint, cached);
    }
    key = cached;
  }
  const payload = verifySignature(jws, key, alg);
  if (account) opts.nonces.rememberKey(account.id, key, account.thumbprint, account.jwk as JWK);
  if (!fresh) throw staleNonce();
  return { header, payload, body: parsePayload(payload), account, jwk, key, extra };
}
