/**
 * The fuzz suite's interface. A protocol joins `npm run fuzz` by adding one file,
 * fuzz/targets/<protocol>.ts, whose default export is a `FuzzTarget` (see fuzz/README.md).
 */
import type { Rng } from './rng.ts';

/** One HTTP request to throw at the server. */
export interface FuzzInput {
  method: string;
  /** Absolute path with query, e.g. `/ocsp` or `/api/v1/certificates?subject=x`. */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Send the body with Transfer-Encoding: chunked, in a few pieces. */
  chunked?: boolean;
  /** Declare the full length but send only part of the body, then close: a client that gives up. */
  truncate?: boolean;
  /**
   * Send over HTTPS to the TLS listener (HTTP port + 1; its dev certificate is not verified),
   * optionally presenting a client certificate (PEM).
   */
  tls?: { keyPem?: string; certPem?: string };
  /** What kind of input this is (report groups by it). */
  kind: string;
}

/** What a target can use while preparing its seeds: the running server. */
export interface FuzzServer {
  baseUrl: string;
  /** An administrator's bearer token for the admin API. */
  adminToken: string;
  /** A fetch against the server (for setup: registering clients, issuing seed certificates). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A fresh temporary directory (removed after the run) for openssl files. */
  tempDir(): string;
}

export interface FuzzTarget {
  /** The protocol's name in the report, e.g. `ocsp`. */
  name: string;
  /** Makes seeds from real requests against the running server (keys, clients, certificates). */
  setup(server: FuzzServer): Promise<void>;
  /** The next input; mutated from the seeds or generated. May be async (e.g. to fetch a nonce). */
  next(rng: Rng): FuzzInput | Promise<FuzzInput>;
}
