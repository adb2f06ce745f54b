import type { Hono } from 'hono';
import type { Context } from './context.ts';

/**
 * A protocol adapter (protocols/<name>/). The composition root (bin/certgate.mjs, tests) hands
 * the server a list of these; src/ never imports protocols/.
 */
export interface ProtocolModule {
  name: string;
  /** Adds the protocol's routes to the app (paths are absolute, e.g. `/acme/...`). */
  mount(app: Hono<AppEnv>, ctx: Context): void | Promise<void>;
  /** Lines for the start-up banner: what a client points at. */
  endpoints?(baseUrls: { http: string; https: string }): { label: string; url: string }[];
  /** Background work (validation workers, refresh jobs); stopped on shutdown. */
  start?(ctx: Context): void | Promise<void>;
  stop?(): void | Promise<void>;
}

/** Hono environment shared by every route: the request id and, after auth, the admin operator. */
export type AppEnv = {
  Variables: {
    requestId: string;
    operator?: import('./admin/tokens.ts').Operator;
  };
};
