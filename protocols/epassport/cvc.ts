/** The CV certificate library this protocol uses (src/pki/cvc), and its chain errors as EpassportErrors. */
import { CvChainError } from '../../src/pki/cvc/index.ts';
import { EpassportError } from './errors.ts';

export * from '../../src/pki/cvc/index.ts';

/** Runs a chain validation; a chain failure becomes a bad_request naming it. */
export function cvChainOk<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CvChainError) throw new EpassportError('bad_request', e.message);
    throw e;
  }
}
