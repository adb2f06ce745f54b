/** CMC object identifiers (RFC 5272 §3, §6; RFC 6402). id-cmc = 1.3.6.1.5.5.7.7, id-cct = 1.3.6.1.5.5.7.12. */
export const cmcOids = {
  /** id-cct-PKIData: eContentType of a Full PKI Request. */
  pkiData: '1.3.6.1.5.5.7.12.2',
  /** id-cct-PKIResponse: eContentType of a Full PKI Response. */
  pkiResponse: '1.3.6.1.5.5.7.12.3',
  statusInfo: '1.3.6.1.5.5.7.7.1',
  identification: '1.3.6.1.5.5.7.7.2',
  identityProof: '1.3.6.1.5.5.7.7.3',
  transactionId: '1.3.6.1.5.5.7.7.5',
  senderNonce: '1.3.6.1.5.5.7.7.6',
  recipientNonce: '1.3.6.1.5.5.7.7.7',
  statusInfoV2: '1.3.6.1.5.5.7.7.25',
  identityProofV2: '1.3.6.1.5.5.7.7.34',
} as const;

/** The body-part id space (RFC 5272 §3.2.1.1): BodyPartID ::= INTEGER(0..4294967295). */
export const MAX_BODY_PART_ID = 4294967295;
