/** Serial number lints (RFC 5280 §4.1.2.2, CA/B BR §7.1). */
import type { Lint } from './types.ts';

export const serialLints: Lint[] = [
  {
    name: 'serial.positive',
    source: 'RFC 5280 §4.1.2.2',
    check: ({ tbs }) => {
      const s = tbs.serial;
      if (s.length === 0 || s[0] & 0x80) return 'the serial number is negative';
      if (s.every((b) => b === 0)) return 'the serial number is zero';
      return undefined;
    },
  },
  {
    name: 'serial.length',
    source: 'RFC 5280 §4.1.2.2',
    check: ({ tbs }) => (tbs.serial.length > 20 ? `the serial number is ${tbs.serial.length} octets, more than 20` : undefined),
  },
  {
    // A lint sees one serial, so it checks the room for entropy: at least 64 significant bits.
    // Where the bits come from is randomSerial (CSPRNG, 127 bits).
    name: 'serial.entropy',
    source: 'CA/B BR §7.1',
    check: ({ tbs }) => {
      const s = tbs.serial;
      let i = 0;
      while (i < s.length && s[i] === 0) i++;
      const bits = i === s.length ? 0 : (s.length - i - 1) * 8 + (32 - Math.clz32(s[i]));
      return bits < 64 ? `the serial number has ${bits} significant bits, fewer than 64` : undefined;
    },
  },
];
