/**
 * `certgate cert export` / `cert import`: the inventory in bulk, as JSON lines (one certificate
 * per line with its status) or a PEM bundle. Progress goes to stderr as a bar when stderr is a
 * terminal, so stdout stays the data and scripts see no bar.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, EXIT_CLIENT, statuses, type Api, type Run } from './shared.ts';

const PAGE = 1000;

interface ExportRecord {
  pem: string;
  issuerId: string;
  serial: string;
  subject: string;
  profile: string;
  status: string;
  revokedAt: string | null;
  revocationReason: string | null;
  notAfter: string;
}

export function registerCertBulkCommands(cert: Command, run: Run): void {
  cert
    .command('export')
    .description('write certificates in bulk: JSON lines (with status, for `cert import`) or a PEM bundle')
    .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'pem']).default('jsonl'))
    .option('--out <file>', 'write here instead of stdout')
    .addOption(new Option('--status <status>', 'only this status').choices(statuses))
    .option('--issuer <id>', 'only this issuer')
    .option('--profile <name>', 'only this profile')
    .action((o: { format: 'jsonl' | 'pem'; out?: string; status?: string; issuer?: string; profile?: string }) =>
      run(async (api) => {
        const out: NodeJS.WritableStream | WriteStream = o.out ? createWriteStream(o.out, { mode: 0o644 }) : process.stdout;
        let bar: Progress | undefined;
        let done = 0;
        for (let offset = 0; ; offset += PAGE) {
          const page = await api.get<{ total: number; items: ExportRecord[] }>('/certificates', { status: o.status, issuer: o.issuer, profile: o.profile, limit: PAGE, offset, pem: 'true' });
          bar ??= await progress('export', page.total);
          for (const c of page.items) {
            const { pem, issuerId, serial, subject, profile, status, revokedAt, revocationReason, notAfter } = c;
            out.write(o.format === 'pem' ? pem : JSON.stringify({ issuerId, serial, subject, profile, status, revokedAt, revocationReason, notAfter, pem }) + '\n');
          }
          done += page.items.length;
          bar?.update(done);
          if (page.items.length < PAGE) break;
        }
        bar?.stop();
        if (o.out) await new Promise<void>((r, j) => (out as WriteStream).end((e?: Error | null) => (e ? j(e) : r())));
        process.stderr.write(`exported ${done} certificate${done === 1 ? '' : 's'}${o.out ? ` to ${o.out}` : ''}\n`);
      }),
    );

  cert
    .command('import')
    .description('take certificates signed by this server\'s issuers into the inventory: JSON lines from `cert export`, or a PEM bundle (status valid)')
    .requiredOption('--file <file>', 'JSON lines or PEM bundle ("-" reads stdin)')
    .option('--profile <name>', 'profile name to file PEM-bundle certificates under', 'imported')
    .action((o: { file: string; profile: string }) =>
      run(async (api) => {
        const text = o.file === '-' ? readFileSync(0, 'utf8') : readFileSync(o.file, 'utf8');
        await importAll(api, records(text, o.profile));
      }),
    );
}

/** The records of a JSON lines file or a PEM bundle. */
function records(text: string, profile: string): Record<string, unknown>[] {
  if (text.trimStart().startsWith('-----BEGIN')) {
    return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => ({ pem: pem + '\n', profile }));
  }
  return text
    .split('\n')
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l)
    .map(([l, n]) => {
      try {
        const r = JSON.parse(l) as ExportRecord;
        return { pem: r.pem, profile: r.profile, status: r.status, revokedAt: r.revokedAt ?? undefined, revocationReason: r.revocationReason ?? undefined };
      } catch {
        throw new CliError(`line ${n}: not JSON (expected JSON lines from certgate cert export, or a PEM bundle)`, EXIT_CLIENT);
      }
    });
}

async function importAll(api: Api, list: Record<string, unknown>[]): Promise<void> {
  const bar = await progress('import', list.length);
  let imported = 0;
  let present = 0;
  const refused: string[] = [];
  for (const [i, r] of list.entries()) {
    const res = await api.raw<{ message?: string }>('POST', '/certificates/import', r);
    if (res.status === 201) imported++;
    else if (res.status === 409) present++;
    else if (res.status >= 500) throw new CliError(`record ${i + 1}: ${res.body?.message ?? `HTTP ${res.status}`}`, 1);
    else refused.push(`record ${i + 1}: ${res.body?.message ?? `HTTP ${res.status}`}`);
    bar?.update(i + 1);
  }
  bar?.stop();
  process.stderr.write(`imported ${imported}, already present ${present}, refused ${refused.length}\n`);
  for (const r of refused.slice(0, 20)) process.stderr.write(`certgate: ${r}\n`);
  if (refused.length) process.exitCode = EXIT_CLIENT;
}

interface Progress {
  update(n: number): void;
  stop(): void;
}

/** A cli-progress bar on stderr when it is a terminal; none otherwise. */
async function progress(label: string, total: number): Promise<Progress | undefined> {
  if (!process.stderr.isTTY || total < 1) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta}s`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}
