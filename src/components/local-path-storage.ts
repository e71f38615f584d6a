import { stringify } from 'yaml';
import { podImagesFor } from '../artifacts/manifest.js';
import type { ClusterPlan } from '../model/plan.js';

/**
 * Storage: the `standard` StorageClass, marked default (kind's name for it),
 * with rancher's local-path-provisioner behind it, as kind and k3s ship. A
 * claim waits for its first pod (WaitForFirstConsumer), then gets a folder on
 * that pod's worker, under LOCAL_PATH_DIR, which is a volume of the worker's
 * own: it outlives pod deletion, node restarts, kc stop/start and upgrades,
 * and goes with the worker (kc delete node) or the cluster.
 */
export const STORAGE_CLASS = 'standard';
export const LOCAL_PATH_NAMESPACE = 'local-path-storage';
export const LOCAL_PATH_DIR = '/var/local-path-provisioner';
const PROVISIONER = 'rancher.io/local-path';
const NAME = 'local-path-provisioner';
const CONFIG_MAP = 'local-path-config';

/** The helper pod's scripts (upstream's): a volume is a folder, made and removed on its node. */
const SETUP = '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n';
const TEARDOWN = '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n';

function helperPod(image: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helper-pod' },
    spec: {
      priorityClassName: 'system-node-critical',
      tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }],
      // The provisioner's own image carries the shell the scripts need: nothing to pull.
      containers: [{ name: 'helper-pod', image, imagePullPolicy: 'IfNotPresent' }],
    },
  };
}

function provisionerConfig(): string {
  return JSON.stringify({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [LOCAL_PATH_DIR] }] }, undefined, 2);
}

export function localPathStorageManifest(plan: ClusterPlan): string {
  const image = podImagesFor(plan.release).localPathProvisioner;
  const namespace = LOCAL_PATH_NAMESPACE;
  const serviceAccount = `${NAME}-service-account`;
  const role = `${NAME}-role`;
  const subjects = [{ kind: 'ServiceAccount', name: serviceAccount, namespace }];
  const labels = { app: NAME };
  const documents: object[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: role, namespace },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: role },
      rules: [
        { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'configmaps', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: `${NAME}-bind`, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${NAME}-bind` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects,
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONFIG_MAP, namespace },
      data: { 'config.json': provisionerConfig(), setup: SETUP, teardown: TEARDOWN, 'helperPod.yaml': stringify(helperPod(image)) },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: serviceAccount,
            priorityClassName: 'system-cluster-critical',
            containers: [
              {
                name: NAME,
                image,
                imagePullPolicy: 'IfNotPresent',
                command: [NAME, 'start', '--config', '/etc/config/config.json'],
                env: [
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'CONFIG_MOUNT_PATH', value: '/etc/config/' },
                ],
                resources: { requests: { cpu: '10m', memory: '20Mi' } },
                volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config/' }],
              },
            ],
            volumes: [{ name: 'config-volume', configMap: { name: CONFIG_MAP } }],
          },
        },
      },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: PROVISIONER,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    },
  ];
  return documents.map((doc) => stringify(doc)).join('---\n');
}

/** The parts of a PersistentVolume list that say where a volume's data lives. */
export interface PersistentVolumeList {
  items: {
    metadata: { name: string };
    spec?: {
      storageClassName?: string;
      claimRef?: { namespace?: string; name?: string };
      nodeAffinity?: { required?: { nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] } };
    };
  }[];
}

/**
 * The `standard` volumes whose data is on this worker, named by their claims
 * (`namespace/claim`, or the volume's name when unclaimed): the provisioner
 * pins each to its node by hostname affinity.
 */
export function localVolumesOn(volumes: PersistentVolumeList, node: string): string[] {
  return volumes.items
    .filter((pv) => pv.spec?.storageClassName === STORAGE_CLASS)
    .filter((pv) =>
      (pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).some((term) =>
        (term.matchExpressions ?? []).some((e) => e.key === 'kubernetes.io/hostname' && e.operator === 'In' && (e.values ?? []).includes(node)),
      ),
    )
    .map((pv) => (pv.spec?.claimRef?.name ? `${pv.spec.claimRef.namespace ?? ''}/${pv.spec.claimRef.name}` : pv.metadata.name));
}
