/**
 * Where a benchmark's CPU goes across processes and threads, read from /proc (Linux): the server's
 * main thread, its other threads (crypto workers, V8's compiler and GC helpers), this process (the
 * client, or the in-process pipeline) and every PostgreSQL backend. Per operation, so that a rate
 * below its bar can be explained by what each part costs, not guessed at.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ: /proc's clock ticks per second on Linux

function ticks(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process's main thread and of all its other threads. */
function threadsOf(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main, others };
  }
  for (const t of tasks) {
    const st = read(`/proc/${pid}/task/${t}/stat`);
    if (!st) continue;
    if (t === String(pid)) main += ticks(st);
    else others += ticks(st);
  }
  return { main, others };
}

function postgresSeconds(): number {
  let s = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = read(`/proc/${d}/stat`);
    if (st && st.includes('(postgres)')) s += ticks(st);
  }
  return s;
}

export interface CpuSample {
  serverMain: number;
  serverOthers: number;
  self: number;
  postgres: number;
}

export function sampleCpu(serverPid?: number): CpuSample {
  const srv = serverPid ? threadsOf(serverPid) : { main: 0, others: 0 };
  const self = process.cpuUsage();
  return { serverMain: srv.main, serverOthers: srv.others, self: (self.user + self.system) / 1e6, postgres: postgresSeconds() };
}

/** The CPU between two samples, in µs per operation, as one printable line. */
export function cpuPerOp(a: CpuSample, b: CpuSample, ops: number, selfName: string): string {
  const us = (x: number) => Math.round((x / ops) * 1e6);
  const parts = [
    ...(b.serverMain || b.serverOthers ? [`server main thread ${us(b.serverMain - a.serverMain)}`, `server other threads ${us(b.serverOthers - a.serverOthers)}`] : []),
    `${selfName} ${us(b.self - a.self)}`,
    `PostgreSQL ${us(b.postgres - a.postgres)}`,
  ];
  return `${parts.join(', ')} µs of CPU per operation`;
}
