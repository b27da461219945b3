// Pinning the hub's TLS certificate (protocol.md §10.5): a board names the certificate it
// trusts by the SHA-256 of its DER bytes, so a self-signed hub certificate needs no CA.
import { createHash, X509Certificate } from 'node:crypto';

/** The SHA-256 of a certificate's DER bytes, as 64 lowercase hex digits. */
export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** The fingerprint of a PEM certificate (the hub's link.tls.cert), as boards pin it. */
export function fingerprintOfPem(pem: string | Buffer): string {
  return fingerprintOfDer(new X509Certificate(pem).raw);
}

/**
 * A fingerprint as people paste it (`AB:CD:…` from openssl, or plain hex) as 64 lowercase hex
 * digits; undefined when it is not a SHA-256.
 */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text.trim().replaceAll(':', '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}
