/** The emCA result strings (spec §4.9): stable, clients match on them. */
export const M = {
  invalidParameter: 'Invalid parameter',
  invalidInput: 'Invalid input data',
  invalidRequestDetails: 'Invalid request details found',
  internal: 'Internal server error',
  /** createPKCS12's table (seed: createPKCS12): a profile named by name that is unknown or not the caller's. */
  invalidProfile: 'Invalid Certificate Profile',
  /** getProfileinfoByProfilename's table. */
  invalidProfileName: 'Invalid Certificate Profile name',
  signatureFailed: 'Signature verification failed',
  noneExpiring: 'No Certificate is available for the specified time period',
  /**
   * rekey's and createCertificatesByIdWithMultipleCsrData's tables: "an invalid CSR, or a CSR that
   * does not contain the required details of the selected certificate profile". Used for every
   * request detail the profile refuses (CSR, subject, key algorithm and size — RSA-1024 included).
   */
  invalidData: 'Please enter valid data',
  invalidCsr: 'Please enter valid data',
  invalidSubject: 'Please enter valid data',
  invalidKey: 'Please enter valid data',
  invalidValidity: 'Invalid validity',
  /** rekey's and the multi-CSR method's tables. */
  invalidValidFrom: 'Invalid From Date',
  /** rekey's table: the serial number names no certificate of the caller. */
  invalidSerial: 'Invalid serial number',
  validityExceedsCa: 'Validity exceeds issuing CA validity',
  invalidRevokeMode: 'Invalid revokeMode',
  notFound: 'Certificate not found',
  alreadyRevoked: 'Certificate already revoked',
  notActive: 'Certificate is not active',
  notSuspended: 'Certificate is not suspended',
  invalidRequestId: 'Invalid request id',
  pending: 'Request is pending for authorization',
  rejected: 'Request rejected',
  invalidPfxPassword: 'Invalid PFX password',
  invalidCaName: 'Invalid CA name',
  manualNotSupported: 'Manual authorization profile not supported',
  certExpired: 'Certificate expired',
  certRevoked: 'Certificate revoked',
  untrusted: 'Untrusted certificate',
  invalidSubjectDnOids: 'Invalid subjectDNOids',
  invalidSanValues: 'Invalid sANValues',
  tooLarge: 'Request body too large',
  /** V5 management: the client's role is below what the operation needs (Certgate's string). */
  roleAuditor: 'Access denied: this operation needs the auditor role or above',
  roleOfficer: 'Access denied: this operation needs the officer role or above',
  roleAdministrator: 'Access denied: this operation needs the administrator role',
  /** V5 OCSP management when the OCSP protocol is not mounted. */
  ocspUnavailable: 'OCSP management is not available (the OCSP protocol is not enabled)',
  /** Manual authorization acknowledgement, spelling and leading space as published (createPKCS12 page). */
  manualAck: ' your request proceded sucssusfully',
  revoked: 'Certificate revoked successfully',
  suspended: 'Certificate suspended successfully',
  reinstated: 'Certificate reinstated successfully',
  verified: 'Signature verified successfully',
} as const;

/** The multi-CSR method's table: `<profile id> profile does not exist` (the id as sent, at most 64 characters). */
export function profileNotExist(ref: string): string {
  const shown = ref.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64);
  return `${shown} profile does not exist`;
}

/** createPKCS12 `Password` values Certgate cannot carry (see fields.ts `pfxPasswordRule`). */
export const P = {
  control: 'Invalid PFX password: control characters (line breaks, tabs) cannot be used',
  separator: 'Invalid PFX password: a password that contains the item separator must be the last item (…~Password=<password>)',
} as const;

/** A business failure: answered with the §4.9 envelope (HTTP 200 unless `status` says otherwise). */
export class EmcaFailure extends Error {
  constructor(
    readonly result: string,
    readonly status: 200 | 403 | 404 | 413 | 503 = 200,
  ) {
    super(result);
  }
}
