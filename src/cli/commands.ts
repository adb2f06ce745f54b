/**
 * Operator commands of the `certgate` binary. Each one is a call to the admin API through
 * `openAdminClient`: over HTTP to the server running on this data directory, or in-process
 * when none runs. Results go to stdout (tables, or JSON with --json); diagnostics go to stderr
 * as `certgate: <message>`. Exit codes: 0 ok, 1 server/unexpected error, 2 refused or invalid
 * input (4xx), 3 certificate request pending manual approval.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Config } from '../config.ts';
import type { ProtocolModule } from '../protocol.ts';
import { AdminCallError, openAdminClient } from './admin-client.ts';

const EXIT_ERROR = 1;
const EXIT_CLIENT = 2;
const EXIT_PENDING = 3;

const roleNames = ['administrator', 'officer', 'auditor'];
const keyTypes = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096', 'ed25519'];
const statuses = ['valid', 'revoked', 'hold', 'expired'];
const requestStatuses = ['pending', 'approving', 'issued', 'rejected'];

/** An error the CLI reports with a chosen exit code. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Api {
  get<T = any>(path: string, query?: Record<string, unknown>): Promise<T>;
  post<T = any>(path: string, body?: unknown): Promise<T>;
  put<T = any>(path: string, body: unknown): Promise<T>;
  patch<T = any>(path: string, body: unknown): Promise<T>;
  del(path: string): Promise<void>;
  /** Raw call: the status too, without throwing on 4xx/5xx. */
  raw<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export function registerCommands(program: Command, loadConfig: () => Config, protocols: ProtocolModule[]): void {
  /** Opens the admin client, runs `fn`, closes it; every error becomes a message and an exit code. */
  const run = async (fn: (api: Api) => Promise<void>): Promise<void> => {
    let client: Awaited<ReturnType<typeof openAdminClient>> | undefined;
    try {
      client = await openAdminClient(loadConfig(), protocols);
      const c = client;
      const call = async (method: string, path: string, body?: unknown) => {
        const r = await c.call(method, path, body);
        if (r.status >= 400) throw new AdminCallError(r.status, r.body);
        return r.body as any;
      };
      await fn({
        get: (path, query) => call('GET', path + queryString(query)),
        post: (path, body) => call('POST', path, body),
        put: (path, body) => call('PUT', path, body),
        patch: (path, body) => call('PATCH', path, body),
        del: async (path) => void (await call('DELETE', path)),
        raw: (method, path, body) => c.call(method, path, body) as never,
      });
    } catch (e) {
      fail(e);
    } finally {
      await client?.close().catch(() => {});
    }
  };

  // ── issuers ───────────────────────────────────────────────────────────────────────────────

  const issuer = group(program, 'issuer').description('certificate authorities (issuers)');

  issuer
    .command('list')
    .description('list issuers')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/issuers');
        if (o.json) return printJson(list);
        table(list, [
          ['ID', (i) => i.id],
          ['NAME', (i) => i.name],
          ['PARENT', (i) => i.parentId ?? '-'],
          ['DEFAULT', (i) => (i.isDefault ? 'yes' : '')],
          ['KEY', (i) => i.keyAlgorithm],
          ['NOT AFTER', (i) => day(i.notAfter)],
          ['STATUS', (i) => i.status],
        ]);
      }),
    );

  issuer
    .command('show')
    .description('show one issuer')
    .argument('<id>')
    .option('--pem', 'print its certificate chain as PEM only')
    .option('--json', 'print JSON')
    .action((id: string, o: { pem?: boolean; json?: boolean }) =>
      run(async (api) => {
        const i = await api.get(`/issuers/${enc(id)}`);
        if (o.pem) return void process.stdout.write(i.chainPem);
        if (o.json) return printJson(i);
        const { certificatePem: _c, chainPem: _ch, ...rest } = i;
        printJson(rest);
      }),
    );

  issuer
    .command('create')
    .description('create a CA: a subordinate of --parent, or a self-signed root without it')
    .requiredOption('--id <id>', 'issuer id (a-z 0-9 -)')
    .requiredOption('--name <name>', 'display name (the CN unless --subject is given)')
    .option('--parent <id>', 'signing issuer')
    .option('--subject <dn>', 'subject DN, e.g. "CN=Ops CA,O=Example"')
    .addOption(new Option('--key-type <type>', 'key type').choices(keyTypes).default('ec-p256'))
    .option('--validity-days <days>', 'validity in days', int, 3650)
    .option('--path-length <n>', 'basicConstraints pathLen', int)
    .option('--default', 'make it the default issuing CA')
    .option('--json', 'print JSON')
    .action((o: { id: string; name: string; parent?: string; subject?: string; keyType: string; validityDays: number; pathLength?: number; default?: boolean; json?: boolean }) =>
      run(async (api) => {
        const i = await api.post('/issuers', {
          id: o.id,
          name: o.name,
          subject: o.subject,
          parentId: o.parent,
          keyType: o.keyType,
          validityDays: o.validityDays,
          pathLength: o.pathLength,
          default: o.default,
        });
        if (o.json) return printJson(i);
        console.log(`created issuer ${i.id}: ${i.subject} (${i.keyAlgorithm}, until ${day(i.notAfter)}${i.isDefault ? ', default' : ''})`);
      }),
    );

  issuer
    .command('import')
    .description('import an existing CA certificate and its private key (kept sealed)')
    .requiredOption('--id <id>', 'issuer id (a-z 0-9 -)')
    .requiredOption('--cert <file>', 'CA certificate, PEM')
    .requiredOption('--key <file>', 'its private key, unencrypted PEM')
    .option('--name <name>', 'display name (default: the subject)')
    .option('--parent <id>', 'issuer that signed it')
    .option('--default', 'make it the default issuing CA')
    .action((o: { id: string; cert: string; key: string; name?: string; parent?: string; default?: boolean }) => {
      let certificatePem: string, privateKeyPem: string;
      try {
        certificatePem = readText(o.cert);
        privateKeyPem = readText(o.key);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const i = await api.post('/issuers/import', { id: o.id, name: o.name, certificatePem, privateKeyPem, parentId: o.parent, default: o.default });
        console.log(`imported issuer ${i.id}: ${i.subject}`);
      });
    });

  // ── profiles ──────────────────────────────────────────────────────────────────────────────

  const profile = group(program, 'profile').description('certificate profiles');

  profile
    .command('list')
    .description('list profiles')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/profiles');
        if (o.json) return printJson(list);
        table(list, [
          ['NAME', (p) => p.name],
          ['ENABLED', (p) => (p.enabled ? 'yes' : 'no')],
          ['APPROVAL', (p) => (p.manualApproval ? 'manual' : 'auto')],
          ['ISSUER', (p) => p.issuer ?? '(default)'],
          ['BUILTIN', (p) => (p.builtin ? 'yes' : '')],
          ['DESCRIPTION', (p) => p.description],
        ]);
      }),
    );

  profile
    .command('show')
    .description('print a profile as JSON')
    .argument('<name>')
    .action((name: string) => run(async (api) => printJson(await api.get(`/profiles/${enc(name)}`))));

  profile
    .command('add')
    .description('add a profile from a JSON file')
    .requiredOption('--file <file>', 'profile definition (JSON)')
    .action((o: { file: string }) => {
      let def: unknown;
      try {
        def = readJsonFile(o.file);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const p = await api.post('/profiles', def);
        console.log(`added profile ${p.name}`);
      });
    });

  profile
    .command('update')
    .description('replace a profile with the definition in a JSON file')
    .argument('<name>')
    .requiredOption('--file <file>', 'profile definition (JSON)')
    .action((name: string, o: { file: string }) => {
      let def: unknown;
      try {
        def = readJsonFile(o.file);
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        await api.put(`/profiles/${enc(name)}`, def);
        console.log(`updated profile ${name}`);
      });
    });

  profile
    .command('delete')
    .description('delete a profile')
    .argument('<name>')
    .action((name: string) =>
      run(async (api) => {
        await api.del(`/profiles/${enc(name)}`);
        console.log(`deleted profile ${name}`);
      }),
    );

  // ── certificates ──────────────────────────────────────────────────────────────────────────

  const cert = group(program, 'cert').description('certificates: issue, search, revoke, suspend, reinstate');

  cert
    .command('issue')
    .description('issue a certificate from a CSR; prints the certificate (PEM) only')
    .requiredOption('--csr <file>', 'PKCS#10 request, PEM or DER ("-" reads stdin)')
    .requiredOption('--profile <name>', 'profile')
    .option('--validity <duration>', 'validity: D:H:M:S, ISO 8601 (P90D) or seconds')
    .option('--subject <dn>', 'subject DN to certify instead of the CSR\'s')
    .option('--san <type:value...>', 'SANs to certify instead of the CSR\'s (dns:, ip:, email:, uri:)')
    .option('--issuer <id>', 'issuer (must be allowed by the profile)')
    .option('--idempotency-key <key>', 'the same key returns the same certificate')
    .option('--chain', 'print the issuer chain after the certificate')
    .option('--json', 'print the full JSON result')
    .action((o: { csr: string; profile: string; validity?: string; subject?: string; san?: string[]; issuer?: string; idempotencyKey?: string; chain?: boolean; json?: boolean }) => {
      let csr: string;
      try {
        const bytes = o.csr === '-' ? readFileSync(0) : readFileSync(o.csr);
        const text = bytes.toString('latin1');
        csr = text.includes('-----BEGIN') ? text : bytes.toString('base64');
      } catch (e) {
        return fail(e);
      }
      return run(async (api) => {
        const r = await api.post('/certificates', {
          csr,
          profile: o.profile,
          validity: o.validity,
          subject: o.subject,
          sans: o.san,
          issuerId: o.issuer,
          idempotencyKey: o.idempotencyKey,
        });
        if (o.json) printJson(r);
        if (r.status === 'pending') {
          process.stderr.write(`certgate: request ${r.requestId} is pending manual approval (certgate request approve ${r.requestId})\n`);
          process.exitCode = EXIT_PENDING;
          return;
        }
        if (r.status === 'rejected') throw new CliError(`request ${r.requestId} was rejected: ${r.reason}`, EXIT_CLIENT);
        if (!o.json) process.stdout.write(r.certificate.pem + (o.chain ? r.chainPem : ''));
      });
    });

  const serialCommand = (name: 'revoke' | 'suspend' | 'reinstate', description: string) => {
    const c = cert
      .command(name)
      .description(description)
      .requiredOption('--serial <hex>', 'serial number, hex')
      .option('--issuer <id>', 'issuer (needed only when the serial exists under several)')
      .option('--json', 'print JSON');
    if (name === 'revoke') {
      c.option('--reason <name>', 'keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, … or a code');
      c.option('--invalidity-date <date>', 'when the key is known or suspected to have been compromised (RFC 3339)');
    }
    c.action((o: { serial: string; issuer?: string; reason?: string; invalidityDate?: string; json?: boolean }) =>
      run(async (api) => {
        const body: Record<string, unknown> = { issuerId: o.issuer };
        if (name === 'revoke') Object.assign(body, { reason: o.reason, invalidityDate: o.invalidityDate });
        const r = await api.post(`/certificates/${enc(o.serial)}/${name}`, body);
        if (o.json) return printJson(r);
        const done = { revoke: 'revoked', suspend: 'suspended', reinstate: 'reinstated' }[name];
        console.log(`${done} ${r.issuerId}:${r.serial} (${r.subject})${name === 'revoke' ? `, reason ${r.revocationReason}` : ''}`);
      }),
    );
  };
  serialCommand('revoke', 'revoke a certificate (CRL and OCSP show it at once)');
  serialCommand('suspend', 'suspend a certificate (certificateHold)');
  serialCommand('reinstate', 'lift a suspension');

  cert
    .command('list')
    .description('search certificates')
    .addOption(new Option('--status <status>', 'status').choices(statuses))
    .option('--subject <text>', 'subject contains (case-insensitive)')
    .option('--san <san>', 'SAN, type:value or a bare value')
    .option('--serial <hex>', 'serial number')
    .option('--profile <name>', 'profile')
    .option('--issuer <id>', 'issuer')
    .option('--expires-before <date>', 'notAfter before (RFC 3339)')
    .option('--expires-after <date>', 'notAfter after (RFC 3339)')
    .option('--limit <n>', 'at most this many', int, 100)
    .option('--offset <n>', 'skip this many', int, 0)
    .option('--json', 'print JSON')
    .action((o: Record<string, any>) =>
      run(async (api) => {
        const r = await api.get('/certificates', {
          status: o.status,
          subject: o.subject,
          san: o.san,
          serial: o.serial,
          profile: o.profile,
          issuer: o.issuer,
          expiresBefore: o.expiresBefore,
          expiresAfter: o.expiresAfter,
          limit: o.limit,
          offset: o.offset,
        });
        if (o.json) return printJson(r);
        table(r.items as any[], [
          ['SERIAL', (x) => x.serial],
          ['ISSUER', (x) => x.issuerId],
          ['SUBJECT', (x) => x.subject],
          ['PROFILE', (x) => x.profile],
          ['STATUS', (x) => (x.expired && x.status === 'valid' ? 'expired' : x.status)],
          ['NOT AFTER', (x) => day(x.notAfter)],
        ]);
        if (r.total > r.items.length) process.stderr.write(`(${r.items.length} of ${r.total}; use --limit/--offset)\n`);
      }),
    );

  cert
    .command('show')
    .description('show one certificate, by id or serial')
    .argument('<idOrSerial>')
    .option('--issuer <id>', 'issuer, when the serial exists under several')
    .option('--pem', 'print the PEM only')
    .option('--json', 'print JSON')
    .action((id: string, o: { issuer?: string; pem?: boolean; json?: boolean }) =>
      run(async (api) => {
        const r = await api.get(`/certificates/${enc(id)}`, { issuer: o.issuer });
        if (o.pem) return void process.stdout.write(r.pem);
        if (o.json) return printJson(r);
        const { pem: _pem, ...rest } = r;
        printJson(rest);
      }),
    );

  // ── requests held for approval ─────────────────────────────────────────────────────────────

  const request = group(program, 'request').description('certificate requests held for manual approval');

  request
    .command('list')
    .description('list requests')
    .addOption(new Option('--status <status>', 'status').choices(requestStatuses))
    .option('--json', 'print JSON')
    .action((o: { status?: string; json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/requests', { status: o.status });
        if (o.json) return printJson(list);
        table(list, [
          ['ID', (r) => r.id],
          ['STATUS', (r) => r.status],
          ['PROFILE', (r) => r.profile],
          ['SUBJECT', (r) => r.subject],
          ['REQUESTED BY', (r) => r.principal],
          ['CREATED', (r) => time(r.createdAt)],
        ]);
      }),
    );

  request
    .command('show')
    .description('show one request')
    .argument('<id>')
    .action((id: string) =>
      run(async (api) => {
        const r = await api.get(`/requests/${enc(id)}`);
        if (r.certificate) delete r.certificate.pem;
        printJson(r);
      }),
    );

  request
    .command('approve')
    .description('approve a request: the certificate is issued')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action((id: string, o: { json?: boolean }) =>
      run(async (api) => {
        const r = await api.post(`/requests/${enc(id)}/approve`);
        if (o.json) return printJson(r);
        console.log(`approved ${id}: issued ${r.certificate.issuerId}:${r.certificate.serial} (${r.certificate.subject})`);
      }),
    );

  request
    .command('reject')
    .description('reject a request')
    .argument('<id>')
    .option('--reason <text>', 'why (shown to the requester)')
    .action((id: string, o: { reason?: string }) =>
      run(async (api) => {
        const r = await api.post(`/requests/${enc(id)}/reject`, { reason: o.reason });
        console.log(`rejected ${id}: ${r.reason}`);
      }),
    );

  // ── CRLs ──────────────────────────────────────────────────────────────────────────────────

  const crl = group(program, 'crl').description('certificate revocation lists');

  crl
    .command('generate')
    .description('build and publish a new CRL now (every issuer when --issuer is omitted)')
    .option('--issuer <id>', 'issuer')
    .option('--json', 'print JSON')
    .action((o: { issuer?: string; json?: boolean }) =>
      run(async (api) => {
        const ids = o.issuer ? [o.issuer] : (await api.get<any[]>('/issuers')).map((i) => i.id as string);
        const out = [];
        for (const id of ids) out.push(await api.post(`/crl/${enc(id)}/generate`));
        if (o.json) return printJson(o.issuer ? out[0] : out);
        table(out, [
          ['ISSUER', (x) => x.issuerId],
          ['NUMBER', (x) => x.number],
          ['ENTRIES', (x) => x.entries],
          ['NEXT UPDATE', (x) => time(x.nextUpdate)],
          ['URL', (x) => x.url],
        ]);
      }),
    );

  crl
    .command('show')
    .description('the current CRL of an issuer')
    .requiredOption('--issuer <id>', 'issuer')
    .action((o: { issuer: string }) => run(async (api) => printJson(await api.get(`/crl/${enc(o.issuer)}`))));

  // ── tokens, operators, audit ──────────────────────────────────────────────────────────────

  const token = group(program, 'token').description('admin API bearer tokens');

  token
    .command('create')
    .description('create a bearer token; prints the token alone')
    .addOption(new Option('--role <role>', 'role').choices(roleNames).makeOptionMandatory())
    .option('--name <name>', 'operator the token names (created when missing)')
    .option('--ttl <seconds>', 'lifetime in seconds', int)
    .action((o: { role: string; name?: string; ttl?: number }) =>
      run(async (api) => {
        const r = await api.post('/tokens', { role: o.role, name: o.name, ttlSeconds: o.ttl });
        process.stdout.write(r.token + '\n');
      }),
    );

  const operator = group(program, 'operator').description('operators and API clients of the admin API');

  operator
    .command('list')
    .description('list operators')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) =>
      run(async (api) => {
        const list = await api.get<any[]>('/operators');
        if (o.json) return printJson(list);
        table(list, [
          ['NAME', (x) => x.name],
          ['ROLE', (x) => x.role],
          ['KIND', (x) => x.kind],
          ['DISABLED', (x) => (x.disabled ? 'yes' : '')],
          ['CREATED', (x) => time(x.createdAt)],
        ]);
      }),
    );

  operator
    .command('add')
    .description('add an operator')
    .argument('<name>')
    .addOption(new Option('--role <role>', 'role').choices(roleNames).makeOptionMandatory())
    .option('--api-client', 'an API client rather than a person')
    .action((name: string, o: { role: string; apiClient?: boolean }) =>
      run(async (api) => {
        const r = await api.post('/operators', { name, role: o.role, kind: o.apiClient ? 'api-client' : 'operator' });
        console.log(`added ${r.kind} ${r.name} (${r.role})`);
      }),
    );

  operator
    .command('disable')
    .description('disable an operator: its tokens stop working at once')
    .argument('<name>')
    .action((name: string) =>
      run(async (api) => {
        await api.post(`/operators/${enc(name)}/disable`);
        console.log(`disabled ${name}`);
      }),
    );

  group(program, 'audit')
    .description('search the audit trail (newest first)')
    .option('--action <action>', 'e.g. certificate.revoke')
    .option('--actor <actor>', 'e.g. operator:alice')
    .option('--target <target>', 'e.g. dev-issuing:0a1b…')
    .option('--since <date>', 'RFC 3339')
    .option('--until <date>', 'RFC 3339')
    .option('--limit <n>', 'at most this many', int, 50)
    .option('--json', 'print JSON')
    .action((o: Record<string, any>) =>
      run(async (api) => {
        const list = await api.get<any[]>('/audit', { action: o.action, actor: o.actor, target: o.target, since: o.since, until: o.until, limit: o.limit });
        if (o.json) return printJson(list);
        table(list, [
          ['AT', (x) => time(x.at)],
          ['ACTOR', (x) => x.actor],
          ['ACTION', (x) => x.action],
          ['TARGET', (x) => x.target ?? ''],
          ['OUTCOME', (x) => x.outcome],
        ]);
      }),
    );
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────


/**
 * A top-level command whose subcommands exit 2 on usage errors (a missing option, a bad
 * choice): the caller's mistake, like a refused API call. Help still exits 0.
 */
function group(program: Command, name: string): Command {
  return program.command(name).exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_CLIENT));
}

/** Prints `certgate: <message>` on stderr and sets the exit code (2 for refused/invalid input). */
function fail(e: unknown): void {
  let code = EXIT_ERROR;
  let message: string;
  if (e instanceof AdminCallError) {
    code = e.status < 500 ? EXIT_CLIENT : EXIT_ERROR;
    message = e.message;
  } else if (e instanceof CliError) {
    code = e.exitCode;
    message = e.message;
  } else if ((e as NodeJS.ErrnoException)?.code === 'ENOENT' || (e as NodeJS.ErrnoException)?.code === 'EACCES' || (e as NodeJS.ErrnoException)?.code === 'EISDIR') {
    code = EXIT_CLIENT;
    message = (e as Error).message;
  } else if ((e as Error)?.name === 'ConfigError') {
    code = EXIT_CLIENT;
    message = (e as Error).message;
  } else {
    message = (e as Error)?.message ?? String(e);
  }
  process.stderr.write(`certgate: ${message}\n`);
  process.exitCode = code;
}

function int(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function queryString(q?: Record<string, unknown>): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

function readText(file: string): string {
  return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
}

function readJsonFile(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${file}: not valid JSON (${(e as Error).message})`, EXIT_CLIENT);
  }
}

function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

function day(v: string | undefined): string {
  return v ? v.slice(0, 10) : '';
}

function time(v: string | undefined | null): string {
  return v ? v.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

/** Aligned columns on stdout; "(none)" for an empty list. */
function table<T>(rows: T[], cols: [string, (r: T) => unknown][]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cells = rows.map((r) => cols.map(([, f]) => String(f(r) ?? '')));
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ').trimEnd();
  process.stdout.write([line(cols.map(([h]) => h)), ...cells.map(line)].join('\n') + '\n');
}
