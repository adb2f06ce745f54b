/** A SCEP request that cannot be answered with a CertRep (not CMS, no transactionID): HTTP 400, plain text. */
export class ScepHttpError extends Error {}
