import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The data directory's lock: `<dataDir>/lock`, held for the life of the process that opened the
 * directory's files (`certgate serve`, or a CLI command working on the database itself), so that
 * PGlite never has two processes on one directory and two servers never fight over `server.json`.
 *
 * Node has no flock(2), and a native module for it would be the project's only one. So the lock is
 * a file created atomically — written complete under a temporary name, then link(2)ed to `lock`,
 * which fails with EEXIST when it is there — naming its holder: PID, the kernel's start time of
 * that PID (field 22 of /proc/<pid>/stat) and its role. A holder that died without releasing it
 * (kill -9, power loss) leaves a stale file; the next process takes it over when
 * - the PID is gone (kill(pid, 0) says ESRCH), or
 * - the PID is alive but was reused: its start time differs from the recorded one, or its command
 *   line is not a certgate process (Linux; elsewhere only the first test applies).
 * Breaking a stale lock is itself serialised by `lock.break` (created exclusively, removed at once,
 * ignored when older than 10 s), so two processes finding the same stale lock cannot both win.
 */
export interface LockHolder {
  pid: number;
  /** Start time of the PID in clock ticks since boot (Linux), to detect PID reuse. */
  start?: string;
  role: 'serve' | 'cli' | 'init';
  command: string;
  since: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the data directory ${dataDir} is in use by PID ${holder.pid} (certgate ${holder.command}, since ${holder.since}); ` +
        'stop that process first, or give this one another directory with --data-dir or CERTGATE_DATA_DIR',
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

export const lockFile = (dataDir: string) => join(dataDir, 'lock');

/** Takes the lock or throws DataDirLockedError naming the live holder. The directory must exist. */
export function acquireDataDirLock(dataDir: string, role: LockHolder['role'], command: string): DataDirLock {
  const file = lockFile(dataDir);
  const me: LockHolder = { pid: process.pid, start: startTime(process.pid), role, command, since: new Date().toISOString() };
  const text = JSON.stringify(me);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (createExclusive(file, text)) return held(file, me, text);
    const seen = readRaw(file);
    if (seen === undefined) continue; // released between our attempt and the read
    const holder = parseHolder(seen);
    if (holder && isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
    breakStale(file, seen);
  }
  throw new Error(`could not take the lock ${file}: it keeps changing`);
}

/** The live holder of the lock, if any (a stale lock counts as none). */
export function lockHolder(dataDir: string): LockHolder | undefined {
  const raw = readRaw(lockFile(dataDir));
  const holder = raw === undefined ? undefined : parseHolder(raw);
  return holder && isAlive(holder) ? holder : undefined;
}

/** Whether this holder is still the process that wrote it. */
export function isAlive(h: LockHolder): boolean {
  if (h.pid === process.pid) return h.start === undefined || h.start === startTime(process.pid);
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: alive, owned by another user.
  }
  const now = startTime(h.pid);
  if (now !== undefined && h.start !== undefined && now !== h.start) return false;
  const cmd = commandLine(h.pid);
  if (cmd !== undefined && !cmd.includes('certgate')) return false;
  return true;
}

function held(file: string, me: LockHolder, text: string): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock: never one a successor took over.
    if (readRaw(file) === text) unlinkSafe(file);
  };
  process.on('exit', release);
  return { file, holder: me, release };
}

function createExclusive(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
    // A file system without hard links: O_EXCL, with a moment where the file is empty.
    try {
      writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    unlinkSafe(tmp);
  }
}

/** Removes the lock if it still holds exactly what we judged stale, one breaker at a time. */
function breakStale(file: string, seen: string): void {
  const guard = `${file}.break`;
  try {
    writeFileSync(guard, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another process is breaking it; a guard left by a crash mid-break expires.
    try {
      if (Date.now() - statSync(guard).mtimeMs > 10_000) unlinkSafe(guard);
    } catch {
      /* gone already */
    }
    sleep(50);
    return;
  }
  try {
    if (readRaw(file) === seen) unlinkSafe(file);
  } finally {
    unlinkSafe(guard);
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const h = JSON.parse(raw) as LockHolder;
    return Number.isInteger(h?.pid) && h.pid > 0 ? h : undefined;
  } catch {
    // Empty (a holder on a file system without links died between create and write) or garbage.
    return undefined;
  }
}

function readRaw(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function unlinkSafe(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
