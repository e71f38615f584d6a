import type { ClusterPlan, NodePlan } from '../model/plan.js';
import { API_SERVER_PORT } from '../model/plan.js';
import { renderEncryptionConfig } from '../pki/encryption.js';
import { apiServerCertFor, FRONT_PROXY_CLIENT_NAME } from '../pki/cluster-pki.js';
import type { ClusterPki } from '../pki/types.js';
import { caFile, MASTER_FILES, secretFile } from './control-plane-files.js';
import { LOCAL_ETCD_URL } from './etcd.js';
import { PATHS } from './paths.js';
import type { ComponentBundle } from './types.js';
import { componentFlags, unitFile } from './unit.js';
import { UNIT } from './units.js';

export function serviceAccountIssuer(plan: ClusterPlan): string {
  return `https://kubernetes.default.svc.${plan.clusterDomain}`;
}

/**
 * kube-apiserver on one master, talking to the etcd member beside it
 * (kubeadm's stacked layout): its flags do not change when members join or
 * leave, and when its member is down /readyz fails, so HAProxy routes around it.
 */
export function apiServerBundle(plan: ClusterPlan, master: NodePlan, pki: ClusterPki): ComponentBundle {
  const command = [
    `${PATHS.bin}/kube-apiserver`,
    ...componentFlags(plan.spec, 'apiserver', {
      'advertise-address': master.ip,
      'bind-address': '0.0.0.0',
      'secure-port': API_SERVER_PORT,
      'allow-privileged': true,
      'authorization-mode': 'Node,RBAC',
      'enable-admission-plugins': 'NodeRestriction',
      'client-ca-file': MASTER_FILES.ca,
      'tls-cert-file': MASTER_FILES.apiServerCert,
      'tls-private-key-file': MASTER_FILES.apiServerKey,
      'etcd-servers': LOCAL_ETCD_URL,
      'etcd-cafile': MASTER_FILES.ca,
      'etcd-certfile': MASTER_FILES.etcdClientCert,
      'etcd-keyfile': MASTER_FILES.etcdClientKey,
      'encryption-provider-config': MASTER_FILES.encryptionConfig,
      'kubelet-certificate-authority': MASTER_FILES.ca,
      'kubelet-client-certificate': MASTER_FILES.kubeletClientCert,
      'kubelet-client-key': MASTER_FILES.kubeletClientKey,
      // Nodes have fixed addresses on the cluster network; their names resolve only through Docker's DNS.
      'kubelet-preferred-address-types': 'InternalIP,Hostname',
      'service-account-issuer': serviceAccountIssuer(plan),
      'service-account-key-file': MASTER_FILES.serviceAccountPublicKey,
      'service-account-signing-key-file': MASTER_FILES.serviceAccountPrivateKey,
      'service-cluster-ip-range': plan.spec.serviceSubnet,
      'service-node-port-range': '30000-32767',
      // Webhooks, CRD conversion and aggregated APIs are called at their
      // endpoints' pod addresses (routed on every master) rather than at the
      // Service address: no dependency on kube-proxy's rules being in place.
      'enable-aggregator-routing': true,
      // The aggregation layer (kubeadm's settings): who may assert identities to aggregated API servers.
      'requestheader-client-ca-file': MASTER_FILES.frontProxyCa,
      'requestheader-allowed-names': FRONT_PROXY_CLIENT_NAME,
      'requestheader-username-headers': 'X-Remote-User',
      'requestheader-group-headers': 'X-Remote-Group',
      'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
      'proxy-client-cert-file': MASTER_FILES.frontProxyClientCert,
      'proxy-client-key-file': MASTER_FILES.frontProxyClientKey,
    }),
  ];
  return {
    files: [
      caFile(pki),
      { path: MASTER_FILES.apiServerCert, content: apiServerCertFor(pki, master).certPem },
      secretFile(MASTER_FILES.apiServerKey, apiServerCertFor(pki, master).keyPem),
      { path: MASTER_FILES.kubeletClientCert, content: pki.apiServerKubeletClient.certPem },
      secretFile(MASTER_FILES.kubeletClientKey, pki.apiServerKubeletClient.keyPem),
      { path: MASTER_FILES.etcdClientCert, content: pki.etcdClient.certPem },
      secretFile(MASTER_FILES.etcdClientKey, pki.etcdClient.keyPem),
      { path: MASTER_FILES.frontProxyCa, content: pki.frontProxyCa.certPem },
      { path: MASTER_FILES.frontProxyClientCert, content: pki.frontProxyClient.certPem },
      secretFile(MASTER_FILES.frontProxyClientKey, pki.frontProxyClient.keyPem),
      { path: MASTER_FILES.serviceAccountPublicKey, content: pki.serviceAccount.publicKeyPem },
      secretFile(MASTER_FILES.serviceAccountPrivateKey, pki.serviceAccount.privateKeyPem),
      secretFile(MASTER_FILES.encryptionConfig, renderEncryptionConfig(pki.encryptionKey)),
      unitFile(UNIT.apiServer, {
        description: 'Kubernetes API server',
        command,
        after: [UNIT.etcd],
        // A stopping API server takes its address out of the `kubernetes` Service
        // and fails /readyz at once, then waits up to a minute for open watches
        // to drain: measured 15 s on every stop. In a throw-away cluster that
        // only delays stops and restarts (the lb has moved on already).
        service: ['TimeoutStopSec=5'],
      }),
    ],
    units: [UNIT.apiServer],
  };
}
