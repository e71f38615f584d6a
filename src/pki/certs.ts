import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { CertKey } from './types.js';

/**
 * Certificates are built by @peculiar/x509 and signed by Node's WebCrypto.
 * Keys are ECDSA P-256: a key pair takes well under a millisecond where a
 * 2048-bit RSA one took 100–300 ms, which made the PKI (17 keys for the
 * default cluster) two seconds of every create. Every Kubernetes component,
 * etcd and kubectl accept them (kubeadm offers the same as ECDSA-P256).
 */
const subtle = webcrypto.subtle;
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface CertificateRequest {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  validityDays?: number;
}

/** What tests and diagnostics want to know about a certificate, without library types. */
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

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
/** Backdating absorbs clock skew between the host and the node containers. */
const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

/** A fresh ECDSA P-256 key pair. */
async function generateKeyPair(): Promise<CryptoKeyPair> {
  return subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
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

/** UTF8String values: a PrintableString cannot carry characters such as `_` or `@` that appear in names. */
function distinguishedName(commonName: string, organization?: string): x509.Name {
  return new x509.Name([...(organization === undefined ? [] : [{ O: [{ utf8String: organization }] }]), { CN: [{ utf8String: commonName }] }]);
}

function extendedKeyUsages(usage: CertificateUsage): string[] {
  return [
    ...(usage === 'client' ? [] : [x509.ExtendedKeyUsage.serverAuth]),
    ...(usage === 'server' ? [] : [x509.ExtendedKeyUsage.clientAuth]),
  ];
}

function subjectAltNames(dnsNames: readonly string[], ipAddresses: readonly string[]): x509.JsonGeneralName[] {
  const invalid = ipAddresses.filter((ip) => isIP(ip) === 0);
  if (invalid.length > 0) throw new Error(`not an IP address: ${invalid.join(', ')}`);
  return [
    ...unique(dnsNames).map((value) => ({ type: 'dns' as const, value })),
    ...unique(ipAddresses).map((value) => ({ type: 'ip' as const, value })),
  ];
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function toCertKey(cert: x509.X509Certificate, privateKey: CryptoKey): Promise<CertKey> {
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(privateKey) };
}

/** Node names the curve OpenSSL's way; WebCrypto the NIST way. */
const WEBCRYPTO_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/**
 * A CA's private key, for signing. Clusters made before kc used ECDSA have
 * an RSA CA (its key in PKCS#1 PEM): nodes added to them are signed with it.
 */
async function signingKeyOf(keyPem: string): Promise<{ key: CryptoKey; algorithm: Algorithm | EcdsaParams }> {
  const keyObject: KeyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  const curve = WEBCRYPTO_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
  if (keyObject.asymmetricKeyType !== 'ec' || !curve) {
    throw new Error(`a CA key must be RSA or ECDSA (P-256, P-384, P-521), got ${keyObject.asymmetricKeyType ?? 'unknown'} ${keyObject.asymmetricKeyDetails?.namedCurve ?? ''}`);
  }
  const key = await subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
  return { key, algorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams };
}

/** A self-signed root that signs every certificate of one cluster. */
export async function createCertificateAuthority(commonName: string, validityDays = DEFAULT_CA_VALIDITY_DAYS): Promise<CertKey> {
  const keys = await generateKeyPair();
  const name = distinguishedName(commonName);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: name,
    issuer: name,
    ...validityWindow(validityDays),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return toCertKey(cert, keys.privateKey);
}

/**
 * The CA's own key identifier, so that verifiers can pick the right issuer
 * when several share a name: taken from the CA certificate (kc's always
 * carry one), else derived from its public key.
 */
async function authorityKeyIdentifier(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
}

/** A leaf certificate with a fresh key pair, signed by `ca`. */
export async function issueCertificate(ca: CertKey, request: CertificateRequest): Promise<CertKey> {
  const altNames = subjectAltNames(request.dnsNames ?? [], request.ipAddresses ?? []);
  const window = validityWindow(request.validityDays ?? DEFAULT_CERTIFICATE_VALIDITY_DAYS);
  const caCert = new x509.X509Certificate(ca.certPem);
  const [keys, signing] = await Promise.all([generateKeyPair(), signingKeyOf(ca.keyPem)]);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // An ECDSA key signs; it does not encipher keys (RFC 5480): digitalSignature is all it needs.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(extendedKeyUsages(request.usage)),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await authorityKeyIdentifier(caCert),
  ];
  // An empty subjectAltName extension is invalid DER, so leave it out entirely.
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: distinguishedName(request.commonName, request.organization),
    // The CA's subject exactly as encoded: verifiers match the issuer byte for byte.
    issuer: caCert.subjectName,
    ...window,
    publicKey: keys.publicKey,
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    extensions,
  });
  return toCertKey(cert, keys.privateKey);
}

function describeName(name: x509.Name): CertificateSummary['subject'] {
  return { commonName: name.getField('CN')[0], organizations: name.getField('O') };
}

/** Reads back what `issueCertificate` and `createCertificateAuthority` put into a certificate. */
export function parseCertificate(certPem: string): CertificateSummary {
  const cert = new x509.X509Certificate(certPem);
  const usages = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  const altNames = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  const extendedKeyUsages: CertificateSummary['extendedKeyUsages'] = [];
  if (usages.includes(x509.ExtendedKeyUsage.serverAuth)) extendedKeyUsages.push('serverAuth');
  if (usages.includes(x509.ExtendedKeyUsage.clientAuth)) extendedKeyUsages.push('clientAuth');
  return {
    subject: describeName(cert.subjectName),
    issuer: describeName(cert.issuerName),
    serialNumber: cert.serialNumber,
    isCertificateAuthority: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
    extendedKeyUsages,
    dnsNames: altNames.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: altNames.filter((n) => n.type === 'ip').map((n) => n.value),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
