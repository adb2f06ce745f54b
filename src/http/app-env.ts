/** Administrative roles, least to most privileged: auditor reads; officer also issues and revokes; administrator does everything. */
export type Role = 'administrator' | 'officer' | 'auditor';

/** An authenticated operator of the admin API (a principal row named by a bearer token). */
export interface Operator {
  id: string;
  name: string;
  role: Role;
}

/**
 * Hono environment shared by every route: the request id and, after admin authentication, the
 * operator. Kept apart from src/protocol.ts so the HTTP helpers and the protocol module type do not
 * import each other.
 */
export type AppEnv = {
  Variables: {
    requestId: string;
    operator?: Operator;
  };
};
