import { stringify } from 'yaml';

/** Key sizes the aescbc provider accepts (AES-128, -192, -256). */
const AES_KEY_BYTES = new Set([16, 24, 32]);

/**
 * Encryption at rest for Secrets. `identity` comes last so that the API
 * server can still read Secrets written before encryption was switched on,
 * while every new write is encrypted with the first provider.
 */
export function renderEncryptionConfig(keyBase64: string): string {
  assertAesKey(keyBase64);
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'EncryptionConfiguration',
    resources: [
      {
        resources: ['secrets'],
        providers: [{ aescbc: { keys: [{ name: 'key1', secret: keyBase64 }] } }, { identity: {} }],
      },
    ],
  });
}

/** kube-apiserver would refuse to start with a bad key; failing here names the cause. */
function assertAesKey(keyBase64: string): void {
  const decoded = Buffer.from(keyBase64, 'base64');
  // Buffer.from ignores invalid characters, so compare the round trip to catch them.
  if (decoded.toString('base64') !== keyBase64 || !AES_KEY_BYTES.has(decoded.length)) {
    throw new Error(`encryption key must be 16, 24 or 32 bytes, base64-encoded (got ${decoded.length} decodable bytes)`);
  }
}
