/**
 * One PKCS#11 token through pkcs11js: the module loaded and initialised once per process, the
 * user logged in once, and a small pool of sessions — each runs one operation at a time, since a
 * PKCS#11 session holds at most one active sign or decrypt. Token errors (session closed, device
 * removed, SoftHSM's CKR_GENERAL_ERROR when its token directory vanished …) tear the connection
 * down; while it is down every caller fails at once with `issuerUnavailable` (each protocol's "try
 * later"), and the next call after `retryMs` reconnects: the token recovers by itself.
 */
import pkcs11js from 'pkcs11js';
import { IssuanceError } from '../../issuance/errors.ts';

export interface Pkcs11Settings {
  module: string;
  /** Token label (CKA token info label, trailing blanks ignored); or `slot`. */
  token?: string;
  slot?: number;
  pin: string;
  sessions: number;
  /** Milliseconds between reconnection attempts while the token is away. */
  retryMs?: number;
}

type P11 = InstanceType<typeof pkcs11js.PKCS11>;
export type Session = Buffer;

/** Return values that mean the connection (not the request) is broken. */
const connectionErrors = new Set<number>([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_SLOT_ID_INVALID,
  // SoftHSM answers a vanished token's objects with this before anything else fails.
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
]);

export function isConnectionError(e: unknown): boolean {
  return e instanceof pkcs11js.Pkcs11Error ? connectionErrors.has(e.code) : e instanceof TokenUnavailable;
}

/** The token is not there (or not usable): a "try later" refusal for clients. */
export class TokenUnavailable extends IssuanceError {
  constructor(detail: string) {
    super('issuerUnavailable', `the HSM holding the CA key is unavailable (${detail}); try again later`, 'hsm.unavailable');
  }
}

export class Pkcs11Token {
  readonly p11: P11;
  private loaded = false;
  private up = false;
  private slot?: Buffer;
  private idle: Session[] = [];
  private opened = 0;
  private waiters: { resolve: (s: Session) => void; reject: (e: unknown) => void }[] = [];
  private nextAttempt = 0;
  private lastError = 'not connected yet';
  /** Bumped on every reconnect: object handles found under an older generation are stale. */
  generation = 0;
  tokenLabel = '';

  constructor(readonly settings: Pkcs11Settings) {
    this.p11 = new pkcs11js.PKCS11();
  }

  get available(): boolean {
    return this.up;
  }

  get reason(): string {
    return this.lastError;
  }

  /** Runs `fn` on a pooled, logged-in session; a connection error reconnects once and retries. */
  async withSession<T>(fn: (p11: P11, session: Session, generation: number) => Promise<T> | T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let session: Session;
      try {
        this.connect();
        session = await this.acquire();
      } catch (e) {
        if (e instanceof Reconnect) continue; // the connection went down while this call waited
        throw e;
      }
      const generation = this.generation;
      try {
        const out = await fn(this.p11, session, generation);
        this.release(session, generation);
        return out;
      } catch (e) {
        if (!isConnectionError(e)) {
          this.release(session, generation);
          throw e;
        }
        this.down(e, generation);
        if (attempt > 0) throw new TokenUnavailable(this.lastError);
        this.nextAttempt = 0; // one immediate reconnection: a session closed under us is not an outage
      }
    }
  }

  /** Connects if down and the retry delay has passed; throws TokenUnavailable when it cannot. */
  connect(): void {
    if (this.up) return;
    if (Date.now() < this.nextAttempt) throw new TokenUnavailable(this.lastError);
    this.nextAttempt = Date.now() + (this.settings.retryMs ?? 1000);
    try {
      if (!this.loaded) {
        this.p11.load(this.settings.module);
        this.loaded = true;
      }
      try {
        this.p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      } catch (e) {
        if (!(e instanceof pkcs11js.Pkcs11Error && e.code === pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw e;
      }
      this.slot = this.findSlot();
      const first = this.p11.C_OpenSession(this.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        this.p11.C_Login(first, pkcs11js.CKU_USER, this.settings.pin);
      } catch (e) {
        if (!(e instanceof pkcs11js.Pkcs11Error && e.code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN)) {
          this.p11.C_CloseSession(first);
          throw e;
        }
      }
      this.idle = [first];
      this.opened = 1;
      this.generation++;
      this.up = true;
      this.lastError = '';
    } catch (e) {
      this.lastError = describe(e);
      this.finalize();
      throw new TokenUnavailable(this.lastError);
    }
  }

  private findSlot(): Buffer {
    const { token, slot } = this.settings;
    const slots = this.p11.C_GetSlotList(true);
    for (const s of slots) {
      const info = this.p11.C_GetTokenInfo(s);
      const label = info.label.trimEnd();
      const matches = token !== undefined ? label === token : s.readUIntLE(0, Math.min(6, s.length)) === slot;
      if (matches && info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) {
        this.tokenLabel = label;
        return s;
      }
    }
    throw new Error(token !== undefined ? `no token labelled "${token}"` : `no initialised token in slot ${slot}`);
  }

  private acquire(): Promise<Session> {
    const s = this.idle.pop();
    if (s) return Promise.resolve(s);
    if (this.opened < this.settings.sessions && this.slot) {
      try {
        const session = this.p11.C_OpenSession(this.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
        this.opened++;
        return Promise.resolve(session);
      } catch (e) {
        this.down(e, this.generation);
        return Promise.reject(new TokenUnavailable(this.lastError));
      }
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(session: Session, generation: number): void {
    if (generation !== this.generation || !this.up) return; // a session of a torn-down connection
    const w = this.waiters.shift();
    if (w) w.resolve(session);
    else this.idle.push(session);
  }

  /** Tears the connection down (once per generation); waiters retry on the next connection. */
  private down(e: unknown, generation: number): void {
    if (generation !== this.generation || !this.up) return;
    this.lastError = describe(e);
    this.up = false;
    this.finalize();
    // Each waiter starts over: reconnect, or fail at once with TokenUnavailable.
    for (const w of this.waiters.splice(0)) w.reject(new Reconnect());
  }

  private finalize(): void {
    this.idle = [];
    this.opened = 0;
    this.slot = undefined;
    if (!this.loaded) return;
    try {
      this.p11.C_Finalize();
    } catch {
      // already finalised, or the module cannot: either way nothing to release
    }
  }

  /** Readiness: a cheap call on the token (reconnecting when due). */
  async check(): Promise<boolean> {
    try {
      // C_GetTokenInfo, not C_GetSessionInfo: SoftHSM keeps answering for sessions of a vanished token.
      await this.withSession((p11) => void p11.C_GetTokenInfo(this.slot!));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.up = false;
    this.generation++;
    this.finalize();
    this.nextAttempt = Number.MAX_SAFE_INTEGER;
    this.lastError = 'closed';
  }
}

class Reconnect extends Error {}

/** A message without the PIN (pkcs11js messages name the function and CKR_ code only). */
function describe(e: unknown): string {
  if (e instanceof pkcs11js.Pkcs11Error) return `${e.method}: ${e.message.split('\n')[0]}`;
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
