import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { artifactsFor, DEFAULT_RELEASE, GATEWAY_API_VERSION, podImagesFor, TRAEFIK_VERSION } from '../../src/artifacts/manifest.js';
import { forkReplaces, renderBuildModule } from '../../src/artifacts/source.js';
import { specFromArgs, specFromFlags } from '../../src/cli/create-cluster.js';
import { addonCustomResources, addonManifests, addonNamespaces } from '../../src/components/addons.js';
import { renderHaproxyConfig } from '../../src/components/haproxy.js';
import { applyAddonResources, applyAddons } from '../../src/cluster/kube/addons.js';
import { DEFAULT_GATEWAY, GATEWAY_API_CRDS, gatewayApiCrds, INGRESS_CLASS, INGRESS_NODE_PORTS, TRAEFIK_NAMESPACE } from '../../src/components/traefik.js';
import { defaultClusterSpec } from '../../src/config/defaults.js';
import { resolveClusterSpec } from '../../src/config/resolve.js';
import type { Addons, ClusterSpec } from '../../src/config/types.js';
import { parseClusterConfig } from '../../src/config/v1alpha1.js';
import { planCluster, type ClusterPlan } from '../../src/model/plan.js';
import { POD_IMAGE_ARTIFACTS, podImageList } from '../../src/image/pod-images.js';
import { UsageError } from '../../src/util/errors.js';

const HEADER = 'apiVersion: kc.dev/v1alpha1\nkind: Cluster\n';
const IMAGES = podImagesFor(DEFAULT_RELEASE);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
}

const planWith = (spec: Partial<ClusterSpec> = {}, addons: Partial<Addons> = {}): ClusterPlan =>
  planCluster(defaultClusterSpec({ name: 'web', ...spec, addons: { ...defaultClusterSpec().addons, ...addons } }), '172.30.7.0/24');
const objectsIn = (stream: string): K8sObject[] => parseAllDocuments(stream).map((d) => d.toJSON() as K8sObject);
const find = (objects: K8sObject[], kind: string, name: string): K8sObject | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

interface PodSpec {
  securityContext: { sysctls?: Array<{ name: string; value: string }>; runAsNonRoot?: boolean };
  containers: Array<{ image: string; args: string[]; ports: Array<{ name: string; containerPort: number }> }>;
}
const podOf = (deployment: K8sObject | undefined): PodSpec => (deployment?.spec as { template: { spec: PodSpec } }).template.spec;

describe('the ingress add-on: Traefik for Ingress and the Gateway API', () => {
  const objects = objectsIn(addonManifests(planWith()));

  it('runs Traefik from the preloaded image on 80 and 443 as an unprivileged user, with both Kubernetes providers', () => {
    const pod = podOf(find(objects, 'Deployment', 'traefik'));
    const [container] = pod.containers;
    expect(container?.image).toBe(IMAGES.traefik);
    expect(IMAGES.traefik).toBe(`docker.io/library/traefik:${TRAEFIK_VERSION}`);
    expect(container?.ports.map((p) => `${p.name}:${p.containerPort}`)).toEqual(['web:80', 'websecure:443', 'traefik:9000']);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
    expect(container?.args).toEqual(expect.arrayContaining([
      '--providers.kubernetesIngress=true',
      '--providers.kubernetesGateway=true',
      '--providers.kubernetesIngress.ingressEndpoint.publishedService=traefik/traefik',
      '--providers.kubernetesGateway.statusAddress.service.name=traefik',
      '--global.checkNewVersion=false',
      '--global.sendAnonymousUsage=false',
    ]));
    // Experimental channel off: its TCPRoute/TLSRoute at v1alpha2 are not served by the v1.6 CRDs.
    expect(container?.args.some((a) => a.includes('experimentalChannel'))).toBe(false);
  });

  it('marks its IngressClass default and gives its Service the fixed NodePorts HAProxy forwards to', () => {
    const ingressClass = find(objects, 'IngressClass', INGRESS_CLASS);
    expect(ingressClass?.metadata.annotations).toEqual({ 'ingressclass.kubernetes.io/is-default-class': 'true' });
    expect(ingressClass?.spec).toEqual({ controller: 'traefik.io/ingress-controller' });
    const service = find(objects, 'Service', 'traefik');
    expect(service?.metadata.namespace).toBe(TRAEFIK_NAMESPACE);
    expect(service?.spec).toMatchObject({
      type: 'LoadBalancer',
      ports: [
        { name: 'web', port: 80, nodePort: INGRESS_NODE_PORTS.http },
        { name: 'websecure', port: 443, nodePort: INGRESS_NODE_PORTS.https },
      ],
    });
    // It may write the address into Ingresses and the conditions into Gateways and routes.
    const rules = find(objects, 'ClusterRole', 'traefik')?.rules ?? [];
    const can = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(can('networking.k8s.io', 'ingresses/status', 'update')).toBe(true);
    expect(can('gateway.networking.k8s.io', 'httproutes/status', 'update')).toBe(true);
    expect(can('gateway.networking.k8s.io', 'referencegrants', 'watch')).toBe(true);
    expect(can('', 'secrets', 'get')).toBe(true);
    expect(addonNamespaces(planWith())).toContain(TRAEFIK_NAMESPACE);
  });

  it('installs the Gateway API standard channel at the pinned version, serving every version Traefik asks for', () => {
    // The vendored file is the pinned module's (scripts/vendor-gateway-api-crds.sh): its header and every CRD say so.
    expect(gatewayApiCrds().version).toBe(GATEWAY_API_VERSION);
    // Applied beside the add-ons' stream, by a kubectl of their own: not in it.
    expect(objects.some((o) => o.metadata.name.endsWith('.gateway.networking.k8s.io'))).toBe(false);
    const definitions = objectsIn(addonCustomResources(planWith()).find((r) => r.crds.includes(GATEWAY_API_CRDS[0] ?? ''))?.definitions ?? '');
    expect(definitions.length).toBe(12);
    const crds = definitions.filter((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name.endsWith('.gateway.networking.k8s.io'));
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(
      ['backendtlspolicies', 'gatewayclasses', 'gateways', 'grpcroutes', 'httproutes', 'listenersets', 'referencegrants', 'tcproutes', 'tlsroutes', 'udproutes']
        .map((kind) => `${kind}.gateway.networking.k8s.io`),
    );
    for (const crd of crds) {
      expect(crd.metadata.annotations).toMatchObject({ 'gateway.networking.k8s.io/bundle-version': GATEWAY_API_VERSION, 'gateway.networking.k8s.io/channel': 'standard' });
    }
    expect(find(definitions, 'ValidatingAdmissionPolicy', 'safe-upgrades.gateway.networking.k8s.io')).toBeDefined();
    // Traefik v3.6 watches these kinds at these versions (pkg/provider/kubernetes/gateway/client.go).
    const served = (name: string) =>
      ((crds.find((c) => c.metadata.name === `${name}.gateway.networking.k8s.io`)?.spec?.versions ?? []) as Array<{ name: string; served: boolean }>)
        .filter((v) => v.served)
        .map((v) => v.name);
    for (const name of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'backendtlspolicies']) expect(served(name)).toContain('v1');
    expect(served('referencegrants')).toContain('v1beta1');
  });

  it('applies the Gateway API\'s CRDs, then the GatewayClass and a Gateway for every namespace once those are established', () => {
    const ingress = addonCustomResources(planWith()).find((r) => r.crds.includes('gatewayclasses.gateway.networking.k8s.io'));
    expect(ingress?.crds).toEqual(GATEWAY_API_CRDS);
    for (const crd of GATEWAY_API_CRDS) expect(find(objectsIn(ingress?.definitions ?? ''), 'CustomResourceDefinition', crd)).toBeDefined();
    const resources = objectsIn(ingress?.manifest ?? '');
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['GatewayClass/traefik', `Gateway/${DEFAULT_GATEWAY}`]);
    expect(resources[0]?.spec).toMatchObject({ controllerName: 'traefik.io/gateway-controller' });
    expect(resources[1]?.spec).toEqual({
      gatewayClassName: 'traefik',
      listeners: [{ name: 'web', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } }],
    });
  });

  it('has its CRDs applied by a kubectl of their own beside the add-ons\' stream, then its GatewayClass once they are established', async () => {
    const calls: string[] = [];
    const record = async (args: string[], input?: string) => {
      const kinds = input === undefined ? [] : objectsIn(input).map((o) => o.kind).filter((k, i, all) => all.indexOf(k) === i);
      calls.push(`${args[0] ?? ''} ${args.filter((a) => a.startsWith('crd/')).join(' ')}${kinds.length > 3 ? 'the stream' : kinds.join('+')}`.trim());
      return '';
    };
    await applyAddons(record, planWith());
    expect(calls.sort()).toEqual(['apply CustomResourceDefinition+ValidatingAdmissionPolicy+ValidatingAdmissionPolicyBinding', 'apply the stream']);
    calls.length = 0;
    await applyAddonResources(record, planWith(), 60);
    const ingress = calls.filter((c) => !c.includes('metallb') && !c.includes('IPAddressPool'));
    expect(ingress).toEqual(['wait crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io', 'apply GatewayClass+Gateway']);
    expect(calls).toContain('apply IPAddressPool+L2Advertisement');
  });

  it('is left out, with its CRDs and its Gateway, when switched off', () => {
    const plan = planWith({}, { ingress: false });
    const without = objectsIn(addonManifests(plan));
    expect(without.some((o) => o.metadata.namespace === TRAEFIK_NAMESPACE || o.kind === 'IngressClass')).toBe(false);
    expect(without.some((o) => o.metadata.name.endsWith('.gateway.networking.k8s.io'))).toBe(false);
    expect(addonCustomResources(plan).some((r) => r.crds.includes(GATEWAY_API_CRDS[0] ?? ''))).toBe(false);
  });

  it('is built from Traefik\'s module with its forks, and released as its GitHub tarball checked against its checksums file', () => {
    const artifact = artifactsFor(DEFAULT_RELEASE).find((a) => a.name === 'traefik');
    expect(artifact?.release).toEqual([{
      url: `https://github.com/traefik/traefik/releases/download/${TRAEFIK_VERSION}/traefik_${TRAEFIK_VERSION}_linux_amd64.tar.gz`,
      checksum: { sha256Url: `https://github.com/traefik/traefik/releases/download/${TRAEFIK_VERSION}/traefik_${TRAEFIK_VERSION}_checksums.txt` },
      extract: { traefik: 'traefik' },
    }]);
    expect(artifact?.source).toMatchObject({ kind: 'go', modules: { 'github.com/traefik/traefik/v3': TRAEFIK_VERSION }, forkReplacesOf: 'github.com/traefik/traefik/v3' });
    expect(POD_IMAGE_ARTIFACTS.has('traefik')).toBe(true);
    expect(podImageList(DEFAULT_RELEASE).find((i) => i.name === 'traefik')).toEqual({ name: 'traefik', tag: IMAGES.traefik, artifact: 'traefik', binary: 'traefik' });
  });

  it('repeats a module\'s fork replaces in the build module, not its local ones', () => {
    // As Traefik v3.6.12's go.mod has them.
    const goMod = [
      'module github.com/traefik/traefik/v3',
      'require (',
      '\tgithub.com/gorilla/mux v1.8.1',
      ')',
      'replace github.com/traefik/traefik/dynamic/ext => ./pkg/config/dynamic/ext',
      '// Containous forks',
      'replace (',
      '\tgithub.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e',
      '\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59 // a comment',
      ')',
      'replace github.com/mailgun/minheap v0.0.1 => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595',
    ].join('\n');
    const forks = forkReplaces(goMod);
    expect(forks).toEqual({
      'github.com/abbot/go-http-auth': 'github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e',
      'github.com/gorilla/mux': 'github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59',
      'github.com/mailgun/minheap': 'github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595',
    });
    const build = { kind: 'go' as const, modules: { 'github.com/traefik/traefik/v3': TRAEFIK_VERSION }, packages: {} };
    expect(renderBuildModule('traefik', '1.26.8', build, forks)).toContain(
      '\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59\n',
    );
  });
});

describe("HAProxy's ingress frontends", () => {
  it('forward 80 and 443 of the lb to the NodePorts of every worker, checked every second', () => {
    const config = renderHaproxyConfig(planWith({ workers: 3 }));
    for (const [name, port] of [['http', 80], ['https', 443]] as const) {
      expect(config).toContain(`frontend ingress-${name}\n  bind *:${port}\n  default_backend ingress-${name}\n`);
      const backend = config.slice(config.indexOf(`\nbackend ingress-${name}\n`) + 1).split('\n\n')[0] ?? '';
      expect(backend).toContain('check inter 1s');
      expect(backend.match(/^ {2}server .*$/gm)).toEqual([0, 1, 2].map((i) => `  server web-worker-${i} 172.30.7.${100 + i}:${INGRESS_NODE_PORTS[name]}`));
    }
  });

  it('are not there without the ingress', () => {
    expect(renderHaproxyConfig(planWith({}, { ingress: false }))).not.toContain('ingress');
  });
});

describe('the ingress ports', () => {
  const file = (text: string) => parseClusterConfig(`${HEADER}${text}`, 'web.yaml');

  it('come from --ingress-port HTTP/HTTPS or ingressPorts: in the config, 0 (any free port) by default', () => {
    expect(resolveClusterSpec(undefined, {}).ingressPorts).toEqual({ http: 0, https: 0 });
    expect(resolveClusterSpec(undefined, specFromFlags({ 'ingress-port': '80/443' })).ingressPorts).toEqual({ http: 80, https: 443 });
    expect(resolveClusterSpec(file('ingressPorts: {http: 8080}\n'), {}).ingressPorts).toEqual({ http: 8080, https: 0 });
    // The flag wins over the file.
    expect(resolveClusterSpec(file('ingressPorts: {http: 8080, https: 8443}\n'), specFromFlags({ 'ingress-port': '9080/9443' })).ingressPorts).toEqual({ http: 9080, https: 9443 });
  });

  it('refuses a malformed or clashing pair, naming where it came from and what to give', async () => {
    expect(() => specFromFlags({ 'ingress-port': '80' })).toThrow(UsageError);
    expect(() => specFromFlags({ 'ingress-port': '80' })).toThrow('--ingress-port: "80" is not valid; give the HTTP and the HTTPS host port as HTTP/HTTPS, e.g. 80/443');
    expect(() => specFromFlags({ 'ingress-port': '80/70000' })).toThrow('--ingress-port: 70000 is not valid; use a whole number from 0 to 65535 (0 picks a free port)');
    const refused = (flags: Parameters<typeof specFromArgs>[0]) => specFromArgs(flags).then(() => 'accepted', (error: unknown) => (error as Error).message);
    expect(await refused({ 'ingress-port': '8080/8080' })).toBe('--ingress-port: "8080/8080" is not valid; give HTTP and HTTPS different host ports, e.g. 80/443');
    expect(await refused({ 'ingress-port': '5001/443' })).toBe(
      '--ingress-port: "5001/443" is not valid; the registry (--registry-port) already uses host port 5001: give the ingress other ports (0/0 picks free ones)',
    );
    // Without the registry its port is free for the ingress; without the ingress its ports are not looked at.
    expect(await refused({ 'ingress-port': '5001/443', disable: ['registry'] })).toBe('accepted');
    expect(await refused({ 'ingress-port': '8080/8080', disable: ['ingress'] })).toBe('accepted');
    expect(await refused({ 'ingress-port': '6443/443', 'api-port': 6443 })).toContain('the API server (--api-port) already uses host port 6443');
    expect(() => file('ingressPorts: {http: 80, tls: 443}\n')).toThrow('web.yaml:3: ingressPorts.tls is not a known key; use one of http, https');
  });
});
