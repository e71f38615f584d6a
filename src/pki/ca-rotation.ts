import { X509Certificate } from 'node:crypto';
import type { ClusterPlan } from '../model/plan.js';
import { createCertificateAuthority } from './certs.js';
import { renewLeafCertificates } from './cluster-pki.js';
import type { ClusterPki } from './types.js';

/**
 * A CA rotation moves a cluster from one CA to the next without a moment in
 * which two of its components distrust each other (kubeadm's manual
 * procedure, in three rollouts over every node):
 *  1. `trust-both`: the next CA is made and trusted everywhere beside the
 *     current one; every certificate is still signed by the current one.
 *  2. `sign-with-next`: every leaf is issued again by the next CA, which
 *     becomes `ca`; the previous one is still trusted, so a node holding new
 *     certificates and a node holding old ones accept each other.
 *  3. `drop-previous`: the previous CA is trusted nowhere any more.
 * Each function below is one phase's change to the PKI; pure but for the keys.
 */
export const CA_ROTATION_PHASES = ['trust-both', 'sign-with-next', 'drop-previous'] as const;
export type CaRotationPhase = (typeof CA_ROTATION_PHASES)[number];

/** The CA's fingerprint as kc records it (SHA-256 of the DER, hex with colons, as openssl prints it). */
export function caFingerprint(caCertPem: string): string {
  return new X509Certificate(caCertPem).fingerprint256;
}

/** Every CA the cluster's components trust, as one PEM bundle: `ca`, then the overlapping one during a rotation. */
export function trustedCaPem(pki: Pick<ClusterPki, 'ca' | 'overlapCa'>): string {
  // Alone, the CA's PEM exactly as it is: a cluster that is not rotating gets the same files as ever.
  return [pki.ca, pki.overlapCa].flatMap((ca) => (ca ? [ca.certPem.trimEnd()] : [])).join('\n');
}

/** Fingerprints of every CA that has been this cluster's: its CA, the one it overlaps with, and those retired. */
export function ownCaFingerprints(pki: Pick<ClusterPki, 'ca' | 'overlapCa' | 'retiredCaFingerprints'>): string[] {
  return [pki.ca, pki.overlapCa].flatMap((ca) => (ca ? [caFingerprint(ca.certPem)] : [])).concat(pki.retiredCaFingerprints ?? []);
}

/**
 * Phase 1: a new CA trusted beside the current one. It gets a name of its own
 * (`<cluster>-ca-2`, `-ca-3`, ...): verifiers tell the two apart by name
 * before any key identifier, and `kc get certificates` shows which is which.
 */
export async function withNextCa(pki: ClusterPki, plan: ClusterPlan): Promise<ClusterPki> {
  if (pki.overlapCa) throw new Error('internal: a CA rotation is already under way');
  const generation = (pki.retiredCaFingerprints?.length ?? 0) + 2;
  return { ...pki, overlapCa: await createCertificateAuthority(`${plan.spec.name}-ca-${generation}`) };
}

/** Phase 2: every leaf issued again by the next CA, which becomes `ca`; the previous one stays trusted as `overlapCa`. */
export async function signedWithNextCa(pki: ClusterPki, plan: ClusterPlan): Promise<ClusterPki> {
  if (!pki.overlapCa) throw new Error('internal: no next CA to sign with');
  return renewLeafCertificates({ ...pki, ca: pki.overlapCa, overlapCa: pki.ca }, plan);
}

/** Phase 3: the previous CA trusted no more; its fingerprint is kept, so the cluster's older snapshots are still its own. */
export function withoutPreviousCa(pki: ClusterPki): ClusterPki {
  if (!pki.overlapCa) return pki;
  const { overlapCa, ...rest } = pki;
  return { ...rest, retiredCaFingerprints: [...(pki.retiredCaFingerprints ?? []), caFingerprint(overlapCa.certPem)] };
}
