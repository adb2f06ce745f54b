/**
 * Object identifiers of BSI TR-03110-3 (appendix A.6.4 / A.7.5): the terminal-authentication
 * signature algorithms a CV public key names, and the terminal types a CHAT names.
 */
const bsi = '0.4.0.127.0.7';
const idTA = `${bsi}.2.2.2`;

export type TaHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export interface TaAlgorithm {
  oid: string;
  kind: 'ecdsa' | 'rsa-v1_5' | 'rsa-pss';
  hash: TaHash;
}

export const taAlgorithms: TaAlgorithm[] = [
  { oid: `${idTA}.1.1`, kind: 'rsa-v1_5', hash: 'sha1' },
  { oid: `${idTA}.1.2`, kind: 'rsa-v1_5', hash: 'sha256' },
  { oid: `${idTA}.1.3`, kind: 'rsa-pss', hash: 'sha1' },
  { oid: `${idTA}.1.4`, kind: 'rsa-pss', hash: 'sha256' },
  { oid: `${idTA}.1.5`, kind: 'rsa-v1_5', hash: 'sha512' },
  { oid: `${idTA}.1.6`, kind: 'rsa-pss', hash: 'sha512' },
  { oid: `${idTA}.2.1`, kind: 'ecdsa', hash: 'sha1' },
  { oid: `${idTA}.2.2`, kind: 'ecdsa', hash: 'sha224' },
  { oid: `${idTA}.2.3`, kind: 'ecdsa', hash: 'sha256' },
  { oid: `${idTA}.2.4`, kind: 'ecdsa', hash: 'sha384' },
  { oid: `${idTA}.2.5`, kind: 'ecdsa', hash: 'sha512' },
];

export function taAlgorithm(oid: string): TaAlgorithm | undefined {
  return taAlgorithms.find((a) => a.oid === oid);
}

export function taOid(kind: TaAlgorithm['kind'], hash: TaHash): string {
  const a = taAlgorithms.find((x) => x.kind === kind && x.hash === hash);
  if (!a) throw new Error(`no TA algorithm ${kind} with ${hash}`);
  return a.oid;
}

/** Terminal types (id-roles): the OID of a CHAT. */
export type TerminalType = 'is' | 'at' | 'st';
export const terminalTypeOids: Record<TerminalType, string> = {
  is: `${bsi}.3.1.2.1`,
  at: `${bsi}.3.1.2.2`,
  st: `${bsi}.3.1.2.3`,
};

export function terminalTypeOf(oid: string): TerminalType | undefined {
  return (Object.keys(terminalTypeOids) as TerminalType[]).find((k) => terminalTypeOids[k] === oid);
}
