import { describe, expect, it } from 'vitest';
import { mirrorName } from '../../src/components/containerd.js';
import { loadIntoRegistry, registryTarget } from '../../src/cluster/registry/load.js';
import { imagesOfManifests } from '../../src/cluster/registry/manifest-images.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';
import { canonicalImage } from '../../src/util/image-ref.js';

describe('image names as registries know them', () => {
  it('spells out Docker\'s short names: Docker Hub, library/ for official images, latest', () => {
    expect(canonicalImage('redis:7.0.7')).toEqual({ registry: 'docker.io', path: 'library/redis', tag: '7.0.7' });
    expect(canonicalImage('bitnami/redis')).toEqual({ registry: 'docker.io', path: 'bitnami/redis', tag: 'latest' });
    expect(canonicalImage('index.docker.io/library/nginx:1')).toEqual({ registry: 'docker.io', path: 'library/nginx', tag: '1' });
    expect(canonicalImage('ghcr.io/stefanprodan/podinfo:6.9.1')).toEqual({ registry: 'ghcr.io', path: 'stefanprodan/podinfo', tag: '6.9.1' });
    expect(canonicalImage('localhost:5001/app:dev')).toEqual({ registry: 'localhost:5001', path: 'app', tag: 'dev' });
    expect(canonicalImage('redis@sha256:0123')).toBeUndefined();
  });

  it('puts each mirrored registry\'s images in a folder of kc\'s registry named after it', () => {
    expect(mirrorName('redis:7.0.7', 5001)).toBe('localhost:5001/docker.io/library/redis:7.0.7');
    expect(mirrorName('ghcr.io/stefanprodan/podinfo:6.9.1', 5001)).toBe('localhost:5001/ghcr.io/stefanprodan/podinfo:6.9.1');
    expect(mirrorName('quay.io/metallb/speaker:v0.15.2', 5002)).toBe('localhost:5002/quay.io/metallb/speaker:v0.15.2');
    expect(mirrorName('registry.k8s.io/e2e-test-images/agnhost:2.55', 5001)).toBe('localhost:5001/registry.k8s.io/e2e-test-images/agnhost:2.55');
    expect(mirrorName('registry.example.com/app:1', 5001)).toBeUndefined();
  });

  it('pushes other registries\' images and --as names under kc\'s registry, which pods then name', () => {
    expect(registryTarget('registry.example.com/team/app:1', 5001)).toEqual({
      pushAs: 'localhost:5001/registry.example.com/team/app:1',
      pullAs: 'localhost:5001/registry.example.com/team/app:1',
    });
    expect(registryTarget('my/app:dev', 5001, 'app:dev')).toEqual({ pushAs: 'localhost:5001/app:dev', pullAs: 'localhost:5001/app:dev' });
    expect(registryTarget('my/app:dev', 5001, 'localhost:5001/team/app')).toEqual({ pushAs: 'localhost:5001/team/app:latest', pullAs: 'localhost:5001/team/app:latest' });
    expect(registryTarget('my/app:dev', 5001, 'ghcr.io/x/app:1')).toMatchObject({ refused: expect.stringContaining('--as ghcr.io/x/app:1 is not a name in kc\'s registry') });
    expect(registryTarget('redis@sha256:0123', 5001)).toMatchObject({ refused: expect.stringContaining('names a digest') });
  });
});

describe('the images a manifest or a rendered chart names', () => {
  it('finds every container, init container and ephemeral container image, in workloads, CronJobs and Lists, once each', () => {
    const manifest = `
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      initContainers: [{ name: init, image: busybox:1.36 }]
      containers:
        - { name: app, image: ghcr.io/stefanprodan/podinfo:6.9.1 }
        - { name: cache, image: redis:7.0.7 }
---
apiVersion: batch/v1
kind: CronJob
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{ name: backup, image: redis:7.0.7 }]
---
# a helm test hook
apiVersion: v1
kind: Pod
metadata:
  annotations: { helm.sh/hook: test }
spec:
  containers: [{ name: test, image: curlimages/curl:8.5.0 }]
---
apiVersion: v1
kind: ConfigMap
data: { image: not-a-container-image }
`;
    expect(imagesOfManifests(manifest, 'app.yaml')).toEqual(['busybox:1.36', 'ghcr.io/stefanprodan/podinfo:6.9.1', 'redis:7.0.7', 'curlimages/curl:8.5.0']);
  });

  it('names the file and the document that is not YAML', () => {
    expect(() => imagesOfManifests('kind: Pod\n---\nkind: [unclosed\n', 'bad.yaml')).toThrow(/^bad\.yaml: document 2 is not valid YAML/);
  });
});

describe('kc load registry', () => {
  const withRegistry = async () => {
    const engine = new FakeEngine({ images: ['redis:7.0.7', 'ghcr.io/stefanprodan/podinfo:6.9.1', 'kc/registry:v3.1.2'] });
    await engine.createRegistry({ name: 'kc-registry-5001', image: 'kc/registry:v3.1.2', port: { containerPort: 5000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 5001 }, labels: {} });
    return engine;
  };

  it('pushes what the host has under the mirror\'s names, and lists what it lacks', async () => {
    const engine = await withRegistry();
    const outcomes = await loadIntoRegistry(engine, 5001, ['redis:7.0.7', 'ghcr.io/stefanprodan/podinfo:6.9.1', 'curlimages/curl:8.5.0']);
    expect(outcomes).toEqual([
      { image: 'redis:7.0.7', pushedAs: 'localhost:5001/docker.io/library/redis:7.0.7', pullAs: 'redis:7.0.7' },
      { image: 'ghcr.io/stefanprodan/podinfo:6.9.1', pushedAs: 'localhost:5001/ghcr.io/stefanprodan/podinfo:6.9.1', pullAs: 'ghcr.io/stefanprodan/podinfo:6.9.1' },
      { image: 'curlimages/curl:8.5.0', missing: true },
    ]);
    expect(engine.pushed).toEqual(['redis:7.0.7 → localhost:5001/docker.io/library/redis:7.0.7', 'ghcr.io/stefanprodan/podinfo:6.9.1 → localhost:5001/ghcr.io/stefanprodan/podinfo:6.9.1']);
  });

  it('refuses when the registry is not running, naming how it comes back', async () => {
    const engine = new FakeEngine({ images: ['redis:7.0.7'] });
    await expect(loadIntoRegistry(engine, 5001, ['redis:7.0.7'])).rejects.toThrow(/kc's registry on localhost:5001 is not running: .*kc create cluster starts it/);
    expect(engine.pushed).toEqual([]);
  });
});
