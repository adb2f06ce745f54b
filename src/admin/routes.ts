/**
 * The admin REST API (mounted at /api/v1): issuers, profiles, certificates, revocation, manual
 * approval, CRLs, audit, operators and tokens, console sign-in and dashboard, backups. Bearer JWTs from `ctx.tokens`; least-privilege
 * roles (auditor reads; officer also issues and revokes; administrator does everything). Every
 * body and query is validated with the schemas in openapi.ts, which also describe the API.
 * The routes live in routes/, one file per group; this file mounts them.
 */
import { Hono } from 'hono';
import type { Context } from '../context.ts';
import type { AppEnv } from '../http/app-env.ts';
import { jsonError } from '../http/errors.ts';
import { openApiDocument, type OpenApiFragment } from './openapi.ts';
import { consoleOpenApi } from './openapi-console.ts';
import { mountAudit } from './routes/audit.ts';
import { mountBackups } from './routes/backups.ts';
import { mountCertificates } from './routes/certificates.ts';
import { mountCrl } from './routes/crl.ts';
import { mountDashboard } from './routes/dashboard.ts';
import { mountHsm } from './routes/hsm.ts';
import { mountIssuers } from './routes/issuers.ts';
import { adminKit } from './routes/kit.ts';
import { mountOperators } from './routes/operators.ts';
import { mountProfiles } from './routes/profiles.ts';
import { mountRequests } from './routes/requests.ts';
import { mountSession } from './routes/session.ts';

export function adminRoutes(ctx: Context, fragments: OpenApiFragment[] = []): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.onError((e, c) => jsonError(c, e, (err) => ctx.log.error({ err, reqId: c.get('requestId') }, 'admin API error')));

  // The contract: no authentication, so clients can discover the API.
  api.get('/openapi.json', (c) => c.json(openApiDocument(ctx.config.publicUrl, [consoleOpenApi, ...fragments])));

  const k = adminKit(ctx);
  mountIssuers(api, k);
  mountHsm(api, k);
  mountProfiles(api, k);
  mountCertificates(api, k);
  mountRequests(api, k);
  mountCrl(api, k);
  mountAudit(api, k);
  mountOperators(api, k);
  mountSession(api, k);
  mountDashboard(api, k);
  mountBackups(api, k);
  return api;
}
