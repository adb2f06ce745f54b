/**
 * A progress bar on stderr for long CLI runs (backups), only when stderr is a terminal: scripts
 * and logs get the final summary line alone. Values are bytes, shown in MiB.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number): void;
  stop(): void;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

export function progressBar(label: string, total: number, enabled = !!process.stderr.isTTY): Progress {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {percentage}% | {done} / {all} MiB | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let max = Math.max(1, total);
  bar.start(max, 0, { done: mib(0), all: mib(max) });
  return {
    update(value) {
      // An estimate may be short: the bar grows rather than overflow.
      if (value > max) {
        max = Math.ceil(value * 1.1);
        bar.setTotal(max);
      }
      bar.update(value, { done: mib(value), all: mib(max) });
    },
    stop: () => bar.stop(),
  };
}
