import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Command } from 'commander';
import type { Hono } from 'hono';
import type { OpenApiFragment } from './admin/openapi.ts';
import type { AdminApiClient } from './cli/runner.ts';
import type { Config } from './config.ts';
import type { AppEnv } from './http/app-env.ts';
import type { ProtocolContext } from './protocol-context.ts';

/**
 * A protocol adapter (protocols/<name>/). The composition root (bin/certgate.mjs, tests) hands
 * the server a list of these; src/ never imports protocols/.
 */
export interface ProtocolModule {
  name: string;
  /**
   * Adds the protocol's routes to the app (paths are absolute, e.g. `/acme/...`). The protocol
   * reaches the core only through `pctx` (src/protocol-context.ts); its admin routes go on
   * `pctx.adminRouter()`, mounted at `/api/v1/<name>` after this returns.
   */
  mount(app: Hono<AppEnv>, pctx: ProtocolContext): void | Promise<void>;
  /** Lines for the start-up banner: what a client points at. */
  endpoints?(baseUrls: { http: string; https: string }): { label: string; url: string }[];
  /** Background work (validation workers, refresh jobs); stopped on shutdown. */
  start?(pctx: ProtocolContext): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** The protocol's own `certgate` subcommands; they reach the data through the admin client. */
  registerCommands?(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<AdminApiClient>): void;
  /**
   * A node:http-level handler for a hot path, tried before Hono on every request; it returns true
   * when it took the request. For answers that are a cache lookup (OCSP), where the framework's
   * per-request objects would cost more than the work.
   */
  nodeHandler?(pctx: ProtocolContext): ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** Paths the protocol adds to the admin API's OpenAPI document (absolute from the server root). */
  openapi?: OpenApiFragment;
}
