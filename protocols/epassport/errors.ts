/** Admin-side failures of the ePassport protocol, mapped to HTTP statuses by the admin routes. */
export type EpassportErrorKind = 'bad_request' | 'not_found' | 'conflict';

export class EpassportError extends Error {
  constructor(readonly kind: EpassportErrorKind, message: string) {
    super(message);
    this.name = 'EpassportError';
  }
}

export const httpStatusOf = (k: EpassportErrorKind): 400 | 404 | 409 => ({ bad_request: 400, not_found: 404, conflict: 409 } as const)[k];
