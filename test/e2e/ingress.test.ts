import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGRESS_NODE_PORTS } from '../../src/components/traefik.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certs.js';
import type { CertKey } from '../../src/pki/types.js';
import { DockerEngine } from '../../src/provider/docker/engine.js';
import { execOrThrow } from '../../src/provider/provider.js';
import { freeTcpPort } from '../../src/util/net.js';
import { waitUntil } from '../../src/util/poll.js';
import { buildWebImage, clusterResources, kubectlFor } from './cluster-helpers.js';
import { expectOk, kc, testClusterName } from './helpers.js';

/**
 * The ingress add-on on a default cluster, used as an app's chart would: the
 * test web server (test/fixtures/webserver, "hello from <pod>") behind an
 * Ingress that names no class, and behind an HTTPRoute of a Gateway of the
 * class kc installs, both with TLS from a Secret signed by a CA of the
 * test's own. Each is fetched from this host by its Host header (and SNI),
 * over HTTP and HTTPS, on the host ports `--ingress-port` asked for and at
 * Traefik's LoadBalancer address; the certificate is checked against the
 * test's CA, so Traefik's default certificate would fail.
 */
const NAME = testClusterName('ingress');
const TAKEN = testClusterName('ingress-taken');
const IMAGE = `kc-web:${NAME}`;
const NAMESPACE = 'shop';
const INGRESS_HOST = 'web.kc.test';
const ROUTE_HOST = 'route.kc.test';
const SHARED_HOST = 'shared.kc.test';
const engine = new DockerEngine();
const execFileAsync = promisify(execFile);
let dir: string;
let kubeconfig: string;
let kubectl: ReturnType<typeof kubectlFor>;
let ports: { http: number; https: number };
let ca: CertKey;
let loadBalancer = '';

interface Answer {
  status: number;
  body: string;
}

/** GET / of `address:port` with the Host header (and SNI, checked against the test's CA) of `host`. */
function fetchAs(scheme: 'http' | 'https', address: string, port: number, host: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: address, port, path: '/', headers: { Host: host }, timeout: 5000 };
    const onResponse = (response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    };
    const req = scheme === 'http' ? httpRequest(options, onResponse) : httpsRequest({ ...options, servername: host, ca: ca.certPem }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`${scheme}://${address}:${port} (Host ${host}) did not answer within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The app's answer through `address:port` for `host`, once the route is in place (Traefik and HAProxy take seconds to learn it). */
async function appAnswer(scheme: 'http' | 'https', address: string, port: number, host: string): Promise<string> {
  let answer = '';
  await waitUntil(`${scheme}://${address}:${port} (Host ${host}) to serve the app`, async () => {
    const reply = await fetchAs(scheme, address, port, host).catch((error: unknown) => ({ status: 0, body: String(error) }));
    answer = reply.body;
    return (reply.status === 200 && reply.body.startsWith('hello from web-')) || `HTTP ${reply.status}: ${reply.body.trim().slice(0, 200)}`;
  }, { timeoutMs: 120_000, intervalMs: 1000 });
  return answer;
}

/** The app through both host ports and both LoadBalancer ports, HTTP and HTTPS, for `host`. */
async function everyWayTo(host: string): Promise<string[]> {
  return Promise.all([
    appAnswer('http', '127.0.0.1', ports.http, host),
    appAnswer('https', '127.0.0.1', ports.https, host),
    appAnswer('http', loadBalancer, 80, host),
    appAnswer('https', loadBalancer, 443, host),
  ]);
}

/** A port this host holds for the test: what another program listening there looks like. */
function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const APP = (secret: { cert: string; key: string }) => `
apiVersion: v1
kind: Namespace
metadata: {name: ${NAMESPACE}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: ${NAMESPACE}}
type: kubernetes.io/tls
data: {tls.crt: ${Buffer.from(secret.cert).toString('base64')}, tls.key: ${Buffer.from(secret.key).toString('base64')}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NAMESPACE}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: ${IMAGE}, imagePullPolicy: Never, ports: [{containerPort: 8080}], readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NAMESPACE}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;

// No ingressClassName: the default IngressClass takes it.
const INGRESS = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ${NAMESPACE}}
spec:
  tls: [{hosts: [${INGRESS_HOST}], secretName: web-tls}]
  rules:
    - host: ${INGRESS_HOST}
      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`;

// A Gateway of the app's own (HTTP, and HTTPS with the app's Secret), and a route on the Gateway kc ships for every namespace.
const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web, namespace: ${NAMESPACE}}
spec:
  gatewayClassName: traefik
  listeners:
    - {name: http, protocol: HTTP, port: 80, hostname: ${ROUTE_HOST}}
    - {name: https, protocol: HTTPS, port: 443, hostname: ${ROUTE_HOST}, tls: {mode: Terminate, certificateRefs: [{name: web-tls}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ${NAMESPACE}}
spec:
  parentRefs: [{name: web}]
  hostnames: [${ROUTE_HOST}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shared, namespace: ${NAMESPACE}}
spec:
  parentRefs: [{name: traefik-gateway, namespace: traefik}]
  hostnames: [${SHARED_HOST}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
`;

describe('the ingress add-on: an app behind an Ingress and an HTTPRoute, reached from the host on its ports and its LoadBalancer address', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kc-ingress-'));
    kubeconfig = join(dir, 'kubeconfig');
    kubectl = kubectlFor(kubeconfig, `kc-${NAME}`);
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    ca = await createCertificateAuthority('kc e2e ingress CA');
    const http = await freeTcpPort('127.0.0.1');
    let https = await freeTcpPort('127.0.0.1');
    while (https === http) https = await freeTcpPort('127.0.0.1');
    ports = { http, https };
    const [, created] = await Promise.all([
      buildWebImage(IMAGE),
      expectOk(['create', 'cluster', '--name', NAME, '--ingress-port', `${http}/${https}`, '--kubeconfig', kubeconfig]),
    ]);
    expect(created.stderr).toContain(`ingress on 127.0.0.1:${http} (HTTP) and :${https} (HTTPS)`);
    expect(created.stderr).toContain('Installing add-ons (RBAC, CoreDNS, storage, metrics-server, load-balancer, ingress, kube-router on 2 workers)');
    await expectOk(['load', 'docker-image', IMAGE, '--name', NAME]);
  }, 900_000);

  afterAll(async () => {
    await kc(['delete', 'cluster', '--name', NAME, '--kubeconfig', kubeconfig]);
    await kc(['delete', 'cluster', '--name', TAKEN, '--kubeconfig', kubeconfig]);
    await execFileAsync('docker', ['image', 'rm', '--force', IMAGE]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('refuses a host port another program holds before it makes anything', async () => {
    const held = await holdPort(await freeTcpPort('127.0.0.1'));
    try {
      const port = (held.address() as { port: number }).port;
      const result = await kc(['create', 'cluster', '--name', TAKEN, '--ingress-port', `${port}/0`, '--kubeconfig', kubeconfig]);
      // A create that fails at a step exits 1, as a taken registry port does.
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`creating the cluster failed at "Checking ingress ports": the ingress's HTTP port ${port} on 127.0.0.1 is taken by another program`);
      expect(result.stderr).toContain('--disable ingress');
      expect(await clusterResources(TAKEN)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
  }, 120_000);

  it('serves an Ingress of the default class with its TLS Secret, on the host ports and at its LoadBalancer address', async () => {
    const cert = await issueCertificate(ca, { commonName: INGRESS_HOST, dnsNames: [INGRESS_HOST, ROUTE_HOST, SHARED_HOST], usage: 'server' });
    await kubectl(['apply', '-f', '-'], APP({ cert: cert.certPem, key: cert.keyPem }));
    await kubectl(['apply', '-f', '-'], INGRESS);
    await kubectl(['-n', NAMESPACE, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
    expect(await kubectl(['-n', NAMESPACE, 'get', 'ingress', 'web', '-o', 'jsonpath={.spec.ingressClassName}'])).toBe('traefik');
    // The Ingress gets Traefik's LoadBalancer address, from the top of the cluster network.
    await waitUntil('the Ingress to get an address', async () => {
      loadBalancer = await kubectl(['-n', NAMESPACE, 'get', 'ingress', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
      return loadBalancer !== '' || 'no address yet';
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    expect(await kubectl(['-n', 'traefik', 'get', 'service', 'traefik', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).toBe(loadBalancer);
    expect(Number(loadBalancer.split('.')[3])).toBeGreaterThanOrEqual(200);

    for (const answer of await everyWayTo(INGRESS_HOST)) expect(answer).toMatch(/^hello from web-[a-z0-9]+-[a-z0-9]+\n$/);
    // Routed by Host: a name no Ingress has is Traefik's 404, on both ways in.
    expect((await fetchAs('http', '127.0.0.1', ports.http, 'nobody.kc.test')).status).toBe(404);
    expect((await fetchAs('http', loadBalancer, 80, 'nobody.kc.test')).status).toBe(404);
  }, 300_000);

  it('serves HTTPRoutes of a Gateway of class traefik (HTTP, and HTTPS with the Secret) and of the shared Gateway', async () => {
    await kubectl(['apply', '-f', '-'], GATEWAY);
    await waitUntil('the Gateway to be programmed and its route accepted', async () => {
      const programmed = await kubectl(['-n', NAMESPACE, 'get', 'gateway', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Programmed")].status}']);
      const accepted = await kubectl(['-n', NAMESPACE, 'get', 'httproute', 'web', 'shared', '-o', 'jsonpath={.items[*].status.parents[0].conditions[?(@.type=="Accepted")].status}']);
      return (programmed === 'True' && accepted === 'True True') || `Gateway Programmed: ${programmed || '-'}, routes Accepted: ${accepted || '-'}`;
    }, { timeoutMs: 120_000, intervalMs: 1000 });
    expect(await kubectl(['-n', NAMESPACE, 'get', 'gateway', 'web', '-o', 'jsonpath={.status.addresses[0].value}'])).toBe(loadBalancer);

    for (const answer of await everyWayTo(ROUTE_HOST)) expect(answer).toMatch(/^hello from web-/);
    expect(await appAnswer('http', '127.0.0.1', ports.http, SHARED_HOST)).toMatch(/^hello from web-/);
    expect(await appAnswer('http', loadBalancer, 80, SHARED_HOST)).toMatch(/^hello from web-/);
  }, 300_000);

  it('keeps HAProxy\'s ingress backends in step with the workers: kc create node and kc delete node', async () => {
    const backends = async () => {
      const config = await execOrThrow(engine, `${NAME}-lb`, ['cat', '/etc/haproxy/haproxy.cfg']);
      return [...config.matchAll(new RegExp(`^ {2}server (\\S+) \\S+:${INGRESS_NODE_PORTS.https}$`, 'gm'))].map((m) => m[1]);
    };
    expect(await backends()).toEqual([`${NAME}-worker-0`, `${NAME}-worker-1`]);
    await expectOk(['create', 'node', '--name', NAME, '--role', 'worker']);
    expect(await backends()).toEqual([`${NAME}-worker-0`, `${NAME}-worker-1`, `${NAME}-worker-2`]);
    // The app's image, for its pods that move there (it is never pulled).
    await expectOk(['load', 'docker-image', IMAGE, '--name', NAME, '--nodes', `${NAME}-worker-2`]);
    await expectOk(['delete', 'node', `${NAME}-worker-0`, '--name', NAME]);
    expect(await backends()).toEqual([`${NAME}-worker-1`, `${NAME}-worker-2`]);
    // Still served through the host ports, whichever worker Traefik now runs on.
    await kubectl(['-n', 'traefik', 'rollout', 'status', 'deployment/traefik', '--timeout=180s']);
    await kubectl(['-n', NAMESPACE, 'rollout', 'status', 'deployment/web', '--timeout=180s']);
    expect(await appAnswer('https', '127.0.0.1', ports.https, INGRESS_HOST)).toMatch(/^hello from web-/);
  }, 600_000);
});
