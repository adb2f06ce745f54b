/** A backup, verify or restore refused for a reason the operator can act on (exit code 2, HTTP 400). */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** The archive is damaged, truncated or was changed: its authentication failed. */
export class ArchiveIntegrityError extends BackupError {
  constructor(message: string) {
    super(`the backup archive failed its integrity check: ${message}`);
    this.name = 'ArchiveIntegrityError';
  }
}
