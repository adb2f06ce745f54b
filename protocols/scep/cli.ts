/** `certgate scep challenge [--label L] [--ttl 1h]`: a one-time challenge password, through the admin API. */
import type { Command } from 'commander';
import type { AdminApiClient as AdminClient } from '../../src/cli/runner.ts';
import { adminRunner } from '../../src/cli/runner.ts';
import type { Config } from '../../src/config.ts';

/** `90`, `90s`, `15m`, `1h`, `2d` → seconds. */
export function parseTtl(s: string): number {
  const m = /^(\d{1,7})([smhd]?)$/.exec(s.trim());
  if (!m) throw new Error(`--ttl: "${s}" is not a duration like 90s, 15m, 1h or 2d`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

export function registerScepCommands(program: Command, loadConfig: () => Config, openAdminClient: (config: Config) => Promise<AdminClient>): void {
  const run = adminRunner(() => openAdminClient(loadConfig()));
  program
    .command('scep')
    .description('SCEP server administration')
    .command('challenge')
    .description('make a one-time SCEP challenge password (shown once)')
    .option('--label <label>', 'the SCEP label (/scep/<label>) it is valid for', 'default')
    .option('--ttl <duration>', 'how long it stays valid (90s, 15m, 1h, 2d)', '1h')
    .option('--json', 'print JSON')
    .action((o: { label: string; ttl: string; json?: boolean }) =>
      run(async (call) => {
        const r = await call<{ challenge: string; label: string; expiresAt: string }>('POST', '/scep/challenges', { label: o.label, ttlSeconds: parseTtl(o.ttl) });
        if (o.json) return void process.stdout.write(JSON.stringify(r) + '\n');
        process.stdout.write(`${r.challenge}\n`);
        process.stderr.write(`valid once for label ${r.label} until ${r.expiresAt}\n`);
      }),
    );
}
