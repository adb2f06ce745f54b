import { serve } from '@hono/node-server';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContext } from '../src/context.ts';
import { buildApp } from '../src/server.ts';

/**
 * A started server on the bench database: prints its port, then (on a line on stdin) its peak RSS
 * in MB as JSON and exits. The downloads run in other processes, so the figure is the server's own.
 */
const config = loadConfig({}, { dataDir: process.env.BENCH_DATA_DIR!, databaseUrl: process.env.BENCH_DB_URL || undefined, logLevel: 'silent', metricsEnabled: false });
const ctx = await createContext(config, { bootstrap: false, logger: pino({ level: 'silent' }) });
const app = await buildApp(ctx, []);
const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise<void>((r) => (s.listening ? r() : s.once('listening', () => r())));
const startMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ port: (s.address() as { port: number }).port, startMb }));
process.stdin.once('data', async () => {
  const peakMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ peakMb, startMb }));
  s.close();
  await ctx.close();
  process.exit(0);
});
