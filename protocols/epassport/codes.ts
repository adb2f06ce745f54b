/** The return codes of the SPOC messages (TR-03129, as the emCA ePassport API lists them). */
export type ReturnCode =
  | 'ok_cert_available'
  | 'ok_syntax'
  | 'ok_reception_ack'
  | 'ok_request_forwarded'
  | 'ok_received_correctly'
  | 'ok_list_available'
  | 'failure_inner_signature'
  | 'failure_outer_signature'
  | 'failure_expired'
  | 'failure_domain_parameters'
  | 'failure_request_not_accepted'
  | 'failure_syntax'
  | 'failure_synchronous_processing_not_possible'
  | 'failure_messageID_unknown'
  | 'failure_list_not_available'
  | 'failure_internal_error';

/** A refusal with its return code; the message is for logs and the JSON `message` field only. */
export class SpocFailure extends Error {
  constructor(readonly code: ReturnCode, message: string) {
    super(message);
    this.name = 'SpocFailure';
  }
}

export interface SpocResult {
  returnCode: ReturnCode;
  /** DER CV certificates (certificateSeq). */
  certificates?: Buffer[];
  /** GetDocumentSignerList: the DER CMS SignedData list. */
  documentSignerList?: Buffer;
  message?: string;
}
