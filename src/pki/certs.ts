import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import type { CertKey } from './types.js';

const { pki } = forge;

export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface CertificateRequest {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  validityDays?: number;
}

/** What tests and diagnostics want to know about a certificate, without forge types. */
export interface CertificateSummary {
  subject: { commonName: string | undefined; organizations: string[] };
  issuer: { commonName: string | undefined; organizations: string[] };
  serialNumber: string;
  isCertificateAuthority: boolean;
  extendedKeyUsages: Array<'serverAuth' | 'clientAuth'>;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
}

export const DEFAULT_CA_VALIDITY_DAYS = 10 * 365;
export const DEFAULT_CERTIFICATE_VALIDITY_DAYS = 365;

const RSA_KEY_BITS = 2048;
/** Backdating absorbs clock skew between the host and the node containers. */
const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/** GeneralName tags of the subjectAltName extension (RFC 5280, 4.2.1.6). */
const SAN_DNS = 2;
const SAN_IP = 7;

/**
 * Node's native generator does the work: forge delegates to
 * `crypto.generateKeyPairSync` when it runs under Node, which is far faster
 * than forge's pure-JavaScript prime search.
 */
export function generateRsaKeyPair(): forge.pki.rsa.KeyPair {
  return pki.rsa.generateKeyPair({ bits: RSA_KEY_BITS });
}

/** The same on Node's thread pool (forge hands a callback to `crypto.generateKeyPair`): keys in parallel, event loop free. */
export function generateRsaKeyPairAsync(): Promise<forge.pki.rsa.KeyPair> {
  return new Promise((resolve, reject) => {
    pki.rsa.generateKeyPair({ bits: RSA_KEY_BITS }, (error, keys) => (error ? reject(error) : resolve(keys)));
  });
}

/**
 * 128 random bits as a positive, minimally encoded DER INTEGER: Go's x509
 * parser (and so every Kubernetes component) rejects negative serials and
 * INTEGERs with a redundant leading zero byte.
 */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x3f) | 0x40;
  return bytes.toString('hex');
}

function validityWindow(validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validityDays) || validityDays <= 0) {
    throw new Error(`certificate validity must be a positive number of days, got ${validityDays}`);
  }
  const now = Date.now();
  return {
    notBefore: new Date(now - CLOCK_SKEW_ALLOWANCE_MS),
    notAfter: new Date(now + validityDays * DAY_MS),
  };
}

/**
 * UTF8String rather than forge's default PrintableString, which cannot carry
 * characters such as `_` or `@` that may appear in names. (The typings
 * declare `valueTagClass` as a class, but forge reads it as a universal type.)
 */
const UTF8_STRING_TAG = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;

function distinguishedName(commonName: string, organization?: string): forge.pki.CertificateField[] {
  const fields: forge.pki.CertificateField[] = [];
  if (organization !== undefined) {
    fields.push({ name: 'organizationName', value: organization, valueTagClass: UTF8_STRING_TAG });
  }
  fields.push({ name: 'commonName', value: commonName, valueTagClass: UTF8_STRING_TAG });
  return fields;
}

function extendedKeyUsage(usage: CertificateUsage): { serverAuth: boolean; clientAuth: boolean } {
  return {
    serverAuth: usage === 'server' || usage === 'server-and-client',
    clientAuth: usage === 'client' || usage === 'server-and-client',
  };
}

function subjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): object[] {
  const invalid = ipAddresses.filter((ip) => isIP(ip) === 0);
  if (invalid.length > 0) throw new Error(`not an IP address: ${invalid.join(', ')}`);
  return [
    ...unique(dnsNames).map((value) => ({ type: SAN_DNS, value })),
    ...unique(ipAddresses).map((ip) => ({ type: SAN_IP, ip })),
  ];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The CA's own key identifier, so that verifiers can pick the right issuer when several share a name. */
function subjectKeyIdentifierOf(cert: forge.pki.Certificate): string {
  const extension = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  return extension?.subjectKeyIdentifier !== undefined
    ? forge.util.hexToBytes(extension.subjectKeyIdentifier)
    : cert.generateSubjectKeyIdentifier().getBytes();
}

function toCertKey(cert: forge.pki.Certificate, privateKey: forge.pki.PrivateKey): CertKey {
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(privateKey) };
}

function newCertificate(publicKey: forge.pki.PublicKey, validityDays: number): forge.pki.Certificate {
  const cert = pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialNumber();
  const { notBefore, notAfter } = validityWindow(validityDays);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/** A self-signed root that signs every certificate of one cluster. */
export function createCertificateAuthority(
  commonName: string,
  validityDays = DEFAULT_CA_VALIDITY_DAYS,
  keys: forge.pki.rsa.KeyPair = generateRsaKeyPair(),
): CertKey {
  const cert = newCertificate(keys.publicKey, validityDays);
  const name = distinguishedName(commonName);
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return toCertKey(cert, keys.privateKey);
}

/** A leaf certificate with a fresh RSA key (made here unless given), signed by `ca`. */
export function issueCertificate(
  ca: CertKey,
  request: CertificateRequest,
  keys: forge.pki.rsa.KeyPair = generateRsaKeyPair(),
): CertKey {
  const caCert = pki.certificateFromPem(ca.certPem);
  const caKey = pki.privateKeyFromPem(ca.keyPem);
  const cert = newCertificate(keys.publicKey, request.validityDays ?? DEFAULT_CERTIFICATE_VALIDITY_DAYS);
  cert.setSubject(distinguishedName(request.commonName, request.organization));
  cert.setIssuer(decodedAttributes(caCert.subject.attributes));
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...extendedKeyUsage(request.usage) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyIdentifierOf(caCert) },
  ];
  const altNames = subjectAltNames(request.dnsNames ?? [], request.ipAddresses ?? []);
  // An empty subjectAltName extension is invalid DER, so leave it out entirely.
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  cert.sign(caKey, forge.md.sha256.create());
  return toCertKey(cert, keys.privateKey);
}

/**
 * forge parses UTF8String values as raw bytes but encodes them again when
 * asked to write them, so decode first: otherwise a non-ASCII CA name would
 * come out double-encoded and no longer match the CA's subject.
 */
function decodedAttributes(fields: readonly forge.pki.CertificateField[]): forge.pki.CertificateField[] {
  return fields.map((field) =>
    field.valueTagClass === UTF8_STRING_TAG && typeof field.value === 'string'
      ? { ...field, value: forge.util.decodeUtf8(field.value) }
      : field,
  );
}

function fieldValues(fields: readonly forge.pki.CertificateField[], name: string): string[] {
  return fields.filter((f) => f.name === name && typeof f.value === 'string').map((f) => f.value as string);
}

function describeName(rawFields: readonly forge.pki.CertificateField[]): CertificateSummary['subject'] {
  const fields = decodedAttributes(rawFields);
  return { commonName: fieldValues(fields, 'commonName')[0], organizations: fieldValues(fields, 'organizationName') };
}

interface ParsedAltName {
  type: number;
  value?: string;
  ip?: string;
}

/** Reads back what `issueCertificate` and `createCertificateAuthority` put into a certificate. */
export function parseCertificate(certPem: string): CertificateSummary {
  const cert = pki.certificateFromPem(certPem);
  const basic = cert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  const eku = cert.getExtension('extKeyUsage') as { serverAuth?: boolean; clientAuth?: boolean } | undefined;
  const san = cert.getExtension('subjectAltName') as { altNames?: ParsedAltName[] } | undefined;
  const altNames = san?.altNames ?? [];
  const extendedKeyUsages: CertificateSummary['extendedKeyUsages'] = [];
  if (eku?.serverAuth === true) extendedKeyUsages.push('serverAuth');
  if (eku?.clientAuth === true) extendedKeyUsages.push('clientAuth');
  return {
    subject: describeName(cert.subject.attributes),
    issuer: describeName(cert.issuer.attributes),
    serialNumber: cert.serialNumber,
    isCertificateAuthority: basic?.cA === true,
    extendedKeyUsages,
    dnsNames: altNames.filter((n) => n.type === SAN_DNS && n.value !== undefined).map((n) => n.value as string),
    ipAddresses: altNames.filter((n) => n.type === SAN_IP && n.ip !== undefined).map((n) => n.ip as string),
    notBefore: cert.validity.notBefore,
    notAfter: cert.validity.notAfter,
  };
}
