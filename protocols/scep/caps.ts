/**
 * GetCACaps (RFC 8894 §3.5.2). strongSwan 5.9 offers AES only when SHA-384 is listed too, and
 * certmonger prefers POST and Renewal when listed; the order is the RFC's example order.
 * GetNextCACert is listed only while a CA rollover is pending (§3.5.2: the CA supports it then).
 */
export const CA_CAPS = ['AES', 'DES3', 'SHA-256', 'SHA-384', 'SHA-512', 'SHA-1', 'POSTPKIOperation', 'Renewal', 'SCEPStandard'];

export const capsText = `${CA_CAPS.join('\n')}\n`;

export const capsTextWithNextCa = `${[...CA_CAPS, 'GetNextCACert'].join('\n')}\n`;
