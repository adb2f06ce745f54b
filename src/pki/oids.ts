/** Object identifiers used across Certgate. */

/** Subject attribute short names (RFC 4514 / X.520) and their OIDs. */
export const attributeOids: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  street: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  title: '2.5.4.12',
  postalCode: '2.5.4.17',
  GN: '2.5.4.42',
  initials: '2.5.4.43',
  generationQualifier: '2.5.4.44',
  dnQualifier: '2.5.4.46',
  pseudonym: '2.5.4.65',
  organizationIdentifier: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  E: '1.2.840.113549.1.9.1',
};

/** Aliases accepted on input (case-insensitive lookup goes through `attributeOid`). */
const attributeAliases: Record<string, string> = {
  commonname: 'CN',
  surname: 'SN',
  countryname: 'C',
  localityname: 'L',
  stateorprovincename: 'ST',
  s: 'ST',
  organizationname: 'O',
  organizationalunitname: 'OU',
  givenname: 'GN',
  g: 'GN',
  emailaddress: 'E',
  email: 'E',
  domaincomponent: 'DC',
  userid: 'UID',
  serialnumber: 'serialNumber',
  streetaddress: 'street',
  postalcode: 'postalCode',
  dnqualifier: 'dnQualifier',
  organizationidentifier: 'organizationIdentifier',
};

const shortByLower: Record<string, string> = Object.fromEntries(
  Object.keys(attributeOids).map((k) => [k.toLowerCase(), k]),
);
const shortByOid: Record<string, string> = Object.fromEntries(Object.entries(attributeOids).map(([k, v]) => [v, k]));

/** Canonical short name for an attribute type given by name, alias or OID; undefined if unknown. */
export function attributeShortName(type: string): string | undefined {
  if (/^\d+(\.\d+)+$/.test(type)) return shortByOid[type] ?? type;
  const lower = type.toLowerCase();
  return shortByLower[lower] ?? attributeAliases[lower];
}

/** OID for an attribute type given by name, alias or OID; undefined if unknown. */
export function attributeOid(type: string): string | undefined {
  if (/^\d+(\.\d+)+$/.test(type)) return type;
  const short = attributeShortName(type);
  return short ? attributeOids[short] : undefined;
}

export const ekuOids: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
  /** RFC 6402 §2.10: a CMC/CMP certification authority and registration authority (CMP RA signer). */
  cmcCA: '1.3.6.1.5.5.7.3.27',
  cmcRA: '1.3.6.1.5.5.7.3.28',
  /** RFC 9480 §2.10: CMP key generation authority. */
  cmKGA: '1.3.6.1.5.5.7.3.32',
  anyExtendedKeyUsage: '2.5.29.37.0',
};

export const ext = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  extensionRequest: '1.2.840.113549.1.9.14',
  challengePassword: '1.2.840.113549.1.9.7',
} as const;

export const accessMethod = {
  ocsp: '1.3.6.1.5.5.7.48.1',
  caIssuers: '1.3.6.1.5.5.7.48.2',
} as const;

export const alg = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
} as const;

export const curveByOid: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  [alg.p256]: 'P-256',
  [alg.p384]: 'P-384',
  [alg.p521]: 'P-521',
};

/** RFC 5280 CRLReason codes. 7 is unused; 8 (removeFromCRL) appears only in delta CRLs. */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReasonName = keyof typeof revocationReasons;
