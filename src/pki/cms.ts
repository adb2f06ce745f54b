/**
 * The CMS API protocols use (SCEP, CMP, EST, emCA): SignedData built with a `Signer` and
 * verified in one place, certs-only bundles, EnvelopedData/AuthEnvelopedData encrypted to RSA
 * recipients and decrypted through a `Decrypter` without a padding oracle. One structure per
 * file beside this one (cms-*.ts); algorithms in algorithms.ts.
 */
export { CmsError, cmsOids, decodeContentInfo, encodeContentInfo } from './cms-content-info.ts';
export { canonicalSerial, identifierMatches, issuerAndSerialOf, type CmsIdentifier } from './cms-identifier.ts';
export { encodeAttributes, singleAttribute, type AttributeInput, type ParsedSignerInfo } from './cms-signer-info.ts';
export {
  buildCertsOnly,
  buildSignedData,
  parseSignedData,
  signerCertificate,
  signingTime,
  verifySigner,
  type BuildSignedDataOptions,
  type ParsedSignedData,
  type SignerVerification,
} from './cms-signed-data.ts';
export { CmsDecryptError, decryptEnveloped, encryptEnveloped, type ContentCipher, type DecryptedEnvelope, type EnvelopeRecipient } from './cms-enveloped-data.ts';
