/** Pipeline refusals → the emCA failure messages and statuses (protocols/emca/messages.ts). */
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { IssuanceError, type ReasonCode } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest } from '../../src/issuance/request.ts';
import { EmcaFailure, M, profileNotExist } from './messages.ts';

/** What of an issuance request decides the message: which field named the profile, the key source, custom subject fields. */
export type MapSpec = { profileBy: 'name' | 'id'; key: EnrollmentRequest['key']; custom?: boolean; profileRef?: string };
type Message = (typeof M)[keyof typeof M];

/** An unknown profile, or one the caller may not use (existence is not revealed): the documents' strings. */
export function badProfile(spec: Pick<MapSpec, 'profileBy' | 'profileRef'>): string {
  return spec.profileBy === 'id' ? profileNotExist(spec.profileRef ?? '') : M.invalidProfile;
}
/** `policy` rules → message, by the rule's first part (`lint.` stripped: a lint names the same parts). */
function policyMessage(rule: string, spec: MapSpec): Message | string {
  const r = rule.startsWith('lint.') ? rule.slice(5) : rule;
  if (r.startsWith('keys') || r === 'keyUsage.keyType') return spec.key.kind === 'generate' ? M.invalidKey : M.invalidCsr;
  if (r.startsWith('san')) return spec.custom ? M.invalidSanValues : M.invalidSubject;
  if (r.startsWith('subject')) return spec.custom ? M.invalidSubjectDnOids : M.invalidSubject;
  if (r.startsWith('validity')) return M.invalidValidity;
  if (r === 'issuer') return M.invalidCaName;
  return M.invalidParameter;
}

/** `validity` rules that concern the start of the window (emCA's validFrom). */
const validFromRules = new Set(['validity.order', 'validity.notBefore', 'validity.issuer', 'validity.dateTime']);

/**
 * Pipeline reason code → emCA failure (the message strings of ../shared/spec/emca-api.md and the
 * HTTP status). Refined by the typed rule and by which request field named the profile — never
 * by the message text.
 */
export const emcaFailureFor: Record<ReasonCode, (rule: string, spec: MapSpec) => EmcaFailure> = {
  badCsr: () => new EmcaFailure(M.invalidCsr),
  badPop: () => new EmcaFailure(M.invalidCsr),
  policy: (rule, spec) => new EmcaFailure(policyMessage(rule, spec)),
  unknownProfile: (_r, spec) => new EmcaFailure(badProfile(spec)),
  forbiddenProfile: (_r, spec) => new EmcaFailure(badProfile(spec)),
  notAuthorizedForIdentifier: () => new EmcaFailure(M.invalidParameter),
  validity: (rule) => new EmcaFailure(validFromRules.has(rule) ? M.invalidValidFrom : M.invalidValidity),
  duplicateKey: (rule) => new EmcaFailure(rule === 'rekey.newKey' ? M.invalidCsr : M.invalidParameter),
  issuerUnavailable: () => new EmcaFailure(M.internal, 503),
  pending: () => new EmcaFailure(M.pending),
  rateLimited: () => new EmcaFailure(M.internal, 503),
  internal: () => new EmcaFailure(M.internal, 503),
  malformed: (rule, spec) => new EmcaFailure(rule ? policyMessage(rule, spec) : M.invalidParameter),
  notFound: (rule) => new EmcaFailure(rule === 'issuer' ? M.invalidCaName : M.notFound),
  conflict: (rule) => new EmcaFailure(rule === 'replaces.revoked' ? M.alreadyRevoked : M.invalidParameter),
  unauthorized: () => new EmcaFailure(M.invalidRequestDetails),
  forbidden: () => new EmcaFailure(M.invalidParameter),
};

/** Pipeline errors → the emCA strings. */
export function mapIssuanceError(e: unknown, spec: MapSpec, ctx: Pick<ProtocolContext, 'log'>): Error {
  if (e instanceof EmcaFailure) return e;
  if (!(e instanceof IssuanceError)) return e as Error;
  ctx.log.info({ code: e.code, rule: e.rule, msg: e.message }, 'emca: issuance refused');
  return emcaFailureFor[e.code](e.rule ?? '', spec);
}
