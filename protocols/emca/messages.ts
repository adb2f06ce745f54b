/** The emCA result strings (spec §4.9): stable, clients match on them. */
export const M = {
  invalidParameter: 'Invalid parameter',
  invalidInput: 'Invalid input data',
  invalidRequestDetails: 'Invalid request details found',
  internal: 'Internal server error',
  invalidProfileName: 'Invalid Certificate Profile name',
  invalidProfileId: 'Invalid Certificate Profile Id',
  signatureFailed: 'Signature verification failed',
  noneExpiring: 'No Certificate is available for the specified time period',
  invalidCsr: 'Invalid CSR',
  invalidSubject: 'Invalid subject DN',
  invalidKey: 'Invalid key algorithm and size',
  invalidValidity: 'Invalid validity',
  invalidValidFrom: 'Invalid validFrom',
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
  /** Manual authorization acknowledgement, spelling and leading space as published (createPKCS12 page). */
  manualAck: ' your request proceded sucssusfully',
  revoked: 'Certificate revoked successfully',
  suspended: 'Certificate suspended successfully',
  reinstated: 'Certificate reinstated successfully',
  verified: 'Signature verified successfully',
} as const;

/** A business failure: answered with the §4.9 envelope (HTTP 200 unless `status` says otherwise). */
export class EmcaFailure extends Error {
  constructor(
    readonly result: string,
    readonly status: 200 | 404 | 413 | 503 = 200,
  ) {
    super(result);
  }
}
