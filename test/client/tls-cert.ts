// The shared self-signed test certificate for 127.0.0.1 (test/fixtures/tls, EC P-256 as
// piconetcontrol's boards use).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TestCert {
  key: Buffer;
  cert: Buffer;
  /** Path of the PEM certificate, for --ca. */
  certFile: string;
}

/** From dist/test/client/ back to the sources' fixtures. */
const FIXTURES = new URL('../../../test/fixtures/tls/', import.meta.url);

export function loadTestCert(): TestCert {
  const certFile = fileURLToPath(new URL('cert.pem', FIXTURES));
  return { key: readFileSync(new URL('key.pem', FIXTURES)), cert: readFileSync(certFile), certFile };
}
