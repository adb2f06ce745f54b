import { EventEmitter } from 'node:events';

export interface StatusChange {
  issuerId: string;
  serial: string;
  certificateId: string;
  status: 'valid' | 'revoked' | 'hold';
  reason?: number;
  at: Date;
}

export interface IssuedEvent {
  issuerId: string;
  serial: string;
  certificateId: string;
  profile: string;
  protocol: string;
}

/**
 * In-process notifications (CRL regeneration, OCSP cache refresh). Not a source of truth:
 * other instances learn of changes through the database.
 */
export class Events {
  private readonly ee = new EventEmitter();
  constructor() {
    this.ee.setMaxListeners(50);
  }
  onStatusChange(fn: (e: StatusChange) => void): () => void {
    this.ee.on('status', fn);
    return () => this.ee.off('status', fn);
  }
  emitStatusChange(e: StatusChange): void {
    this.ee.emit('status', e);
  }
  onIssued(fn: (e: IssuedEvent) => void): () => void {
    this.ee.on('issued', fn);
    return () => this.ee.off('issued', fn);
  }
  emitIssued(e: IssuedEvent): void {
    this.ee.emit('issued', e);
  }
}
