import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { isClientAbort } from './http/client-abort.ts';

/**
 * The process logger: JSON lines, a few secret-looking keys redacted, and one rule every log call
 * obeys whoever makes it: an error that is only a client going away mid-request (an aborted upload)
 * is logged at debug, not as a failure — a protocol handler or the admin API catching it and
 * logging "unexpected error" must not page anyone.
 */
export function createLogger(level: Level | 'silent', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'certgate' },
    redact: ['*.password', '*.kek', '*.secret', '*.token'],
    hooks: {
      logMethod(args, method, lvl) {
        if (lvl > 20 && isClientAbort((args[0] as { err?: unknown } | undefined)?.err)) {
          const [obj, msg, ...rest] = args as [Record<string, unknown>, string | undefined, ...unknown[]];
          if (!this.isLevelEnabled('debug')) return;
          return (this.debug as (...a: unknown[]) => void)({ ...obj, clientAborted: true }, msg, ...rest);
        }
        return method.apply(this, args);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
