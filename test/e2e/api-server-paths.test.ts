import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../src/util/poll.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/index.js';
import { boundaryCount, buildWebImage, expectRejectedFromPod, kubectlFor } from './cluster-helpers.js';
import { kc, testClusterName } from './helpers.js';

/**
 * The paths on which the API servers call into the cluster: admission
 * webhooks, aggregated APIs and pods/proxy, served to a client outside the
 * cluster through the lb; and the boundary that keeps pod and Service
 * addresses from leaving a node through the Docker gateway.
 */
const NAME = testClusterName('reach');
const CONTEXT = `kc-${NAME}`;
const WEB_IMAGE = 'kc-e2e/web:1';
const NS = 'reach-test';
const SERVICE = 'kc-web-tls';
const engine = new DockerEngine();
/** Addresses in the default Service and pod ranges that nothing uses (checked in the test). */
const UNUSED_SERVICE_IP = '10.96.250.250';
const UNUSED_POD_IP = '10.244.250.7';
const masters = [`${NAME}-master-0`, `${NAME}-master-1`];
let dir: string;
let kubectl: ReturnType<typeof kubectlFor>;

/** Runs a bash command on a node; resolves to its exit code and output (never throws). */
async function onNode(node: string, script: string): Promise<{ exitCode: number; output: string }> {
  const result = await engine.exec(node, ['bash', '-c', script]);
  return { exitCode: result.exitCode, output: `${result.stdout}${result.stderr}` };
}

/** A TLS secret for the Service's DNS name, plus the front-proxy CA the aggregated API checks callers against. */
async function createServingSecret(): Promise<string> {
  const ca = await createCertificateAuthority('reach-test-ca');
  const serving = await issueCertificate(ca, { commonName: `${SERVICE}.${NS}.svc`, usage: 'server', dnsNames: [`${SERVICE}.${NS}.svc`] });
  const frontProxyCa = await kubectl([
    '-n', 'kube-system', 'get', 'configmap', 'extension-apiserver-authentication',
    '-o', 'jsonpath={.data.requestheader-client-ca-file}',
  ]);
  expect(frontProxyCa, 'the API server publishes its front-proxy CA').toContain('BEGIN CERTIFICATE');
  const secret = {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: SERVICE, namespace: NS },
    stringData: { 'tls.crt': serving.certPem, 'tls.key': serving.keyPem, 'front-proxy-ca.crt': frontProxyCa },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify(secret));
  return Buffer.from(ca.certPem).toString('base64');
}

/** kc-web serve-tls on both workers behind one Service: the webhook and the aggregated API. */
async function deployTlsServer(): Promise<void> {
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: SERVICE, namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: SERVICE } },
      template: {
        metadata: { labels: { app: SERVICE } },
        spec: {
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: SERVICE } } }],
          containers: [{
            name: 'web', image: WEB_IMAGE, args: ['serve-tls', '/tls'], ports: [{ containerPort: 8443 }],
            volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
            readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
          }],
          volumes: [{ name: 'tls', secret: { secretName: SERVICE } }],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1', kind: 'Service', metadata: { name: SERVICE, namespace: NS },
    spec: { selector: { app: SERVICE }, ports: [{ port: 443, targetPort: 8443 }] },
  };
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }));
  await kubectl(['-n', NS, 'rollout', 'status', `deployment/${SERVICE}`, '--timeout=180s']);
}

describe('API servers reach into the cluster (webhooks, aggregated APIs, pods/proxy), and nothing leaks out', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-reach-'));
    const kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, CONTEXT);
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await buildWebImage(WEB_IMAGE);
    const created = await kc(['create', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    expect(created.code, created.stderr).toBe(0);
    const loaded = await kc(['load', 'docker-image', WEB_IMAGE, '--name', NAME]);
    expect(loaded.code, loaded.stderr).toBe(0);
    await kubectl(['create', 'namespace', NS]);
  });

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', join(dir, 'kubeconfig')]);
    await rm(dir, { recursive: true, force: true });
  });

  it('answers pods/proxy: the API server dials a pod on a worker', async () => {
    const coredns = (await kubectl(['-n', 'kube-system', 'get', 'pods', '-l', 'k8s-app=kube-dns', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    expect(coredns).not.toBe('');
    const ready = await kubectl(['get', '--raw', `/api/v1/namespaces/kube-system/pods/${coredns}:8181/proxy/ready`]);
    expect(ready.trim()).toBe('OK');
  });

  it('calls a validating webhook backed by pods for a request sent through the lb', async () => {
    const caBundle = await createServingSecret();
    await deployTlsServer();
    const webhook = {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'kc-reach-test' },
      webhooks: [{
        name: 'deny.e2e.kc.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 5,
        clientConfig: { service: { name: SERVICE, namespace: NS, path: '/validate' }, caBundle },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
      }],
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(webhook));
    // Webhook configurations reach every API server's informer within moments: poll until the denial is seen.
    let denial = '';
    await waitUntil('the webhook to deny a ConfigMap', async () => {
      const name = `denied-${Date.now()}`;
      try {
        await kubectl(['-n', NS, 'create', 'configmap', name, '--from-literal=deny=yes']);
        await kubectl(['-n', NS, 'delete', 'configmap', name]);
        return 'still allowed';
      } catch (error) {
        denial = (error as Error).message;
        return /denied by kc-web/.test(denial) || denial.split('\n')[0] || 'failed';
      }
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    expect(denial).toContain('admission webhook "deny.e2e.kc.dev" denied the request');
    await kubectl(['-n', NS, 'create', 'configmap', 'allowed', '--from-literal=fine=yes']);
    expect((await kubectl(['-n', NS, 'get', 'configmap', 'allowed', '-o', 'jsonpath={.data.fine}'])).trim()).toBe('yes');
  });

  it('serves an aggregated API backed by pods, calling it as the front-proxy client', async () => {
    const apiService = {
      apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1.e2e.kc.dev' },
      spec: {
        group: 'e2e.kc.dev', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 15,
        service: { name: SERVICE, namespace: NS, port: 443 }, insecureSkipTLSVerify: true,
      },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(apiService));
    await kubectl(['wait', '--for=condition=Available', 'apiservice/v1.e2e.kc.dev', '--timeout=120s']);
    const greeting = JSON.parse(await kubectl(['get', '--raw', '/apis/e2e.kc.dev/v1/greetings/hello'])) as { user: string; servedBy: string };
    // The aggregated server answers only callers with the front-proxy certificate, and sees who asked.
    expect(greeting.user).toBe('admin');
    expect(greeting.servedBy).toMatch(new RegExp(`^${SERVICE}-`));
    await kubectl(['delete', 'apiservice', 'v1.e2e.kc.dev']);
  });

  it('routes every worker\'s pods from each master, and reaches Service addresses there (kube-proxy)', async () => {
    const podIps = (await kubectl(['-n', NS, 'get', 'pods', '-l', `app=${SERVICE}`, '-o', 'jsonpath={.items[*].status.podIP}'])).trim().split(' ');
    expect(podIps).toHaveLength(2);
    const clusterIp = (await kubectl(['-n', NS, 'get', 'service', SERVICE, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    for (const master of masters) {
      for (const ip of podIps) {
        const { exitCode, output } = await onNode(master, `timeout 5 bash -c '</dev/tcp/${ip}/8443'`);
        expect(exitCode, `${master} → pod ${ip}: ${output}`).toBe(0);
      }
      // kube-proxy on a master finds no Node object of its own and waits up to 30 s before its first sync.
      await waitUntil(`${master} to reach Service ${clusterIp}`, async () => {
        const { exitCode, output } = await onNode(master, `timeout 5 bash -c '</dev/tcp/${clusterIp}/443'`);
        return exitCode === 0 || output.trim() || `exit ${exitCode}`;
      }, { timeoutMs: 90_000, intervalMs: 1000 });
    }
  });

  it('stops a pod\'s packets to Service addresses kube-proxy does not translate, and to unused pod addresses, on the pod\'s node', async () => {
    // kube-router runs beside the bridge network: its FORWARD chain accepts pod traffic that passes policy, before any rule after it.
    const [pod = '', node = ''] = (await kubectl([
      '-n', NS, 'get', 'pods', '-l', `app=${SERVICE}`, '-o', 'jsonpath={.items[0].metadata.name} {.items[0].spec.nodeName}',
    ])).trim().split(' ');
    expect(node).toMatch(new RegExp(`^${NAME}-worker-`));
    expect((await onNode(node, 'iptables -S FORWARD')).output, 'kube-router\'s chain is in FORWARD').toContain('KUBE-ROUTER-FORWARD');
    const clusterIp = (await kubectl(['-n', NS, 'get', 'service', SERVICE, '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const allocated = (await kubectl(['get', 'services', '-A', '-o', 'jsonpath={.items[*].spec.clusterIP}'])).split(' ');
    expect(allocated, 'the unused Service address is unused').not.toContain(UNUSED_SERVICE_IP);
    const before = await boundaryCount(node, 'forwarded');
    const from = { namespace: NS, name: pod };
    // Refused, as kube-proxy refuses a port a Service does not have: apps and probes read it as "not ready yet".
    await expectRejectedFromPod(kubectl, from, `http://${clusterIp}:80/`, /connection refused/); // a port the Service does not serve
    await expectRejectedFromPod(kubectl, from, `http://${UNUSED_SERVICE_IP}:80/`, /connection refused/);
    await expectRejectedFromPod(kubectl, from, `http://${UNUSED_POD_IP}:8080/`, /no route to host/);
    // Each Service address took at least one packet (the SYN; its retry too) to kc's boundary on the pod's own node.
    expect(await boundaryCount(node, 'forwarded') - before).toBeGreaterThanOrEqual(2);
  });

  it('refuses a Service without endpoints, as kube-proxy does: from a pod at once, and on a node by kube-proxy\'s own rule before kc\'s boundary', async () => {
    const [pod = '', node = ''] = (await kubectl([
      '-n', NS, 'get', 'pods', '-l', `app=${SERVICE}`, '-o', 'jsonpath={.items[0].metadata.name} {.items[0].spec.nodeName}',
    ])).trim().split(' ');
    const empty = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-endpoints', namespace: NS },
      spec: { selector: { app: 'nothing-has-this-label' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    await kubectl(['apply', '-f', '-'], JSON.stringify(empty));
    try {
      const clusterIp = (await kubectl(['-n', NS, 'get', 'service', 'no-endpoints', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
      // A pod is refused at once (kube-router's FORWARD chain accepts pod traffic before kube-proxy's reject there; kc's boundary then refuses it alike).
      await expectRejectedFromPod(kubectl, { namespace: NS, name: pod }, `http://${clusterIp}:80/`, /connection refused/);
      // On the node, kube-proxy's OUTPUT rule answers first once it has synced: kc's counter stays where it was.
      let before = 0;
      await waitUntil('kube-proxy to refuse the Service without endpoints itself, on the node', async () => {
        before = await boundaryCount(node, 'sent');
        const refused = await onNode(node, `timeout 5 bash -c '</dev/tcp/${clusterIp}/80' 2>&1`);
        if (!/Connection refused/.test(refused.output)) return refused.output;
        return (await boundaryCount(node, 'sent')) === before || 'kc\'s boundary answered, not kube-proxy';
      }, { timeoutMs: 60_000, intervalMs: 1000 });
    } finally {
      await kubectl(['-n', NS, 'delete', 'service', 'no-endpoints', '--ignore-not-found']);
    }
  });

  it('never sends pod or Service addresses it cannot route to the Docker gateway, also after a restart', async () => {
    const master = masters[0] ?? '';
    const checkBoundary = async (): Promise<void> => {
      for (const node of [`${NAME}-lb`, master, `${NAME}-worker-0`]) {
        // No worker owns 10.244.250.0/24: the pod range's unreachable route answers, not the default route.
        const route = await onNode(node, `ip -4 route get ${UNUSED_POD_IP}`);
        expect(route.output, node).toMatch(/unreachable|No route to host/);
        // Nothing listens at an unused Service address: the connection is refused on the node at once.
        const started = Date.now();
        const service = await onNode(node, `timeout 5 bash -c '</dev/tcp/${UNUSED_SERVICE_IP}/80' 2>&1`);
        expect(service.exitCode, node).not.toBe(0);
        expect(service.output, node).toMatch(/Connection refused/);
        expect(Date.now() - started, `${node}: rejected, not timed out`).toBeLessThan(4000);
        // Stopped by kc's boundary on the node (a restart gives the node a fresh network namespace: the table must be back).
        expect(await boundaryCount(node, 'sent'), node).toBeGreaterThan(0);
      }
    };
    await checkBoundary();
    await engine.stopNode(master, 5);
    await engine.startNode(master);
    await waitUntil(`${master}'s pod network unit after the restart`, async () => {
      const { output } = await onNode(master, 'systemctl is-active kc-pod-network.service');
      return output.trim() === 'active' || output.trim();
    }, { timeoutMs: 120_000, intervalMs: 500 });
    await checkBoundary();
    const workerRoute = await onNode(master, `ip -4 route show ${await workerPodSubnet(1)}`);
    expect(workerRoute.output).toContain(`via`);
  });
});

async function workerPodSubnet(index: number): Promise<string> {
  return (await kubectl(['get', 'node', `${NAME}-worker-${index}`, '-o', 'jsonpath={.spec.podCIDR}'])).trim();
}
