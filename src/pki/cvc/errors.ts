/** A CV certificate or request that does not parse (TR-03129 `failure_syntax`). */
export class CvcSyntaxError extends Error {
  readonly code = 'failure_syntax';
  constructor(message: string) {
    super(message);
    this.name = 'CvcSyntaxError';
  }
}
