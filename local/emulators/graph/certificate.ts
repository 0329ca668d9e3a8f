/**
 * The emulator's TLS certificate: self-signed for 127.0.0.1 and localhost,
 * made at start (the Graph SDK attaches the bearer token only to https URLs).
 * With a state directory it is written there and reused on restart, so a
 * client started with NODE_EXTRA_CA_CERTS pointing at it keeps trusting a
 * restarted emulator.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface EmulatorCertificate {
  certPem: string;
  keyPem: string;
  /** Where the certificate was written (PEM), when a directory was given. */
  certPath?: string;
}

async function create(): Promise<EmulatorCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 365 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

/** Reuses the certificate in `dir` while it is valid for at least a day more, else makes and writes a new one. */
export async function loadOrCreateCertificate(dir?: string): Promise<EmulatorCertificate> {
  if (!dir) return create();
  mkdirSync(dir, { recursive: true });
  const certPath = path.join(dir, 'ca.pem');
  const keyPath = path.join(dir, 'key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const certPem = readFileSync(certPath, 'utf8');
    const validTo = Date.parse(new X509Certificate(certPem).validTo);
    if (validTo > Date.now() + 24 * 3600_000) return { certPem, keyPem: readFileSync(keyPath, 'utf8'), certPath };
  }
  const cert = await create();
  writeFileSync(keyPath, cert.keyPem, { mode: 0o600 });
  writeFileSync(certPath, cert.certPem);
  return { ...cert, certPath };
}
