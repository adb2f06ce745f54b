import { resolve } from 'node:path';

/**
 * A command other than `serve` or `init` found no Certgate data where it looked: it says where,
 * and how to point it at the right place, instead of creating a new database, KEK and CA there.
 */
export class NoDataError extends Error {
  constructor(what: string, dataDir: string) {
    super(
      `${what}. Point this command at the server's data directory with --data-dir <dir> or CERTGATE_DATA_DIR ` +
        `(now ${resolve(dataDir)}; the default ./data is relative to the current directory), ` +
        'or create a new one with `certgate init`',
    );
    this.name = 'NoDataError';
  }
}
