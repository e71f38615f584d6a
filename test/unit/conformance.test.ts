import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALPINE_TEST_BASE, artifactByName } from '../../src/artifacts/manifest.js';
import { nameTestImages, TEST_IMAGES, testImageTags, unprovidedTestImages, upstreamImageNames } from '../../src/conformance/images.js';
import { summarizeReport, summaryLine } from '../../src/conformance/report.js';
import { ginkgoArgs } from '../../src/conformance/run.js';
import { ALWAYS_SKIPPED, CI_SUBSET, CONFORMANCE_FOCUS, escapeRegex, selectTests } from '../../src/conformance/selection.js';
import { projectRoot } from '../../src/util/paths.js';

const spec = (State: string, leaf: string, extra: Record<string, unknown> = {}) => ({
  ContainerHierarchyTexts: ['[sig-network] DNS'],
  LeafNodeText: leaf,
  LeafNodeType: 'It',
  State,
  ...extra,
});

describe('the Ginkgo report', () => {
  const report = JSON.stringify([
    {
      SpecReports: [
        spec('passed', 'should provide DNS for services [Conformance]'),
        spec('failed', 'should provide DNS for pods [Conformance]', {
          Failure: { Message: '\nexpected "a" to equal "b"\nmore detail', Location: { FileName: 'test/e2e/network/dns.go', LineNumber: 42 } },
        }),
        spec('skipped', 'should not run'),
        spec('passed', '', { LeafNodeType: 'SynchronizedBeforeSuite', ContainerHierarchyTexts: null }),
        spec('timedout', 'should resolve in time'),
      ],
    },
  ]);

  it('counts tests by state, set-up nodes only when they fail', () => {
    const summary = summarizeReport(report);
    expect(summary).toMatchObject({ passed: 1, failed: 2, skipped: 1 });
    expect(summaryLine(summary)).toBe('1 passed, 2 failed, 1 skipped');
  });

  it('names each failed test with its first error and where it was raised', () => {
    expect(summarizeReport(report).failures).toEqual([
      { name: '[sig-network] DNS should provide DNS for pods [Conformance]', firstError: 'expected "a" to equal "b" (test/e2e/network/dns.go:42)' },
      { name: '[sig-network] DNS should resolve in time', firstError: 'timedout' },
    ]);
  });

  it('reports a failed suite set-up as a failure', () => {
    const failedSetup = JSON.stringify([{ SpecReports: [spec('failed', '', { LeafNodeType: 'SynchronizedBeforeSuite', ContainerHierarchyTexts: null, Failure: { Message: 'nodes not ready' } })] }]);
    expect(summarizeReport(failedSetup)).toMatchObject({ passed: 0, failed: 1, failures: [{ name: '[SynchronizedBeforeSuite] ', firstError: 'nodes not ready' }] });
  });
});

describe('test selection', () => {
  it('runs the CI subset by default, each name matching only itself', () => {
    const selection = selectTests({});
    expect(CI_SUBSET.length).toBeGreaterThan(20);
    expect(selection.focus).toBe(CI_SUBSET.map(escapeRegex).join('|'));
    for (const name of CI_SUBSET) {
      expect(new RegExp(selection.focus).test(name), name).toBe(true);
      expect(name, 'the CI subset holds conformance tests').toContain('[Conformance]');
      expect(name, 'parallel-safe tests only').not.toMatch(new RegExp(ALWAYS_SKIPPED));
    }
    expect(new Set(CI_SUBSET).size).toBe(CI_SUBSET.length);
  });

  it('covers every SIG, and the paths where API servers call into the cluster', () => {
    const sigs = new Set(CI_SUBSET.map((name) => /^\[sig-([a-z-]+)\]/.exec(name)?.[1]));
    for (const sig of ['api-machinery', 'apps', 'auth', 'cli', 'instrumentation', 'network', 'node', 'scheduling', 'storage', 'architecture']) {
      expect(sigs, sig).toContain(sig);
    }
    for (const path of [/AdmissionWebhook/, /Aggregator/, /Proxy version v1/, /DNS should provide DNS for services/, /Services should/]) {
      expect(CI_SUBSET.some((name) => path.test(name)), String(path)).toBe(true);
    }
  });

  it('runs every parallel conformance test with --full', () => {
    expect(selectTests({ full: true })).toMatchObject({ focus: CONFORMANCE_FOCUS, skip: ALWAYS_SKIPPED });
  });

  it('adds the user\'s --skip to the tests that are always skipped', () => {
    expect(selectTests({ focus: 'DNS', skip: 'IPv6' })).toMatchObject({ focus: 'DNS', skip: `${ALWAYS_SKIPPED}|IPv6` });
  });

  it.each([
    [{ full: true, focus: 'DNS' }, /--full runs every conformance test: leave out --focus/],
    [{ focus: '(' }, /--focus '\(' is not a valid regular expression/],
    [{ skip: '[' }, /--skip '\[' is not a valid regular expression/],
    [{ focus: ' ' }, /--focus is empty/],
  ])('rejects %j', (options, message) => {
    expect(() => selectTests(options)).toThrow(message);
  });
});

describe('the Ginkgo command line', () => {
  it('gives Ginkgo the selection and reports, and the suite the cluster, kc\'s kubectl and the skeleton provider', () => {
    const args = ginkgoArgs(
      { selection: { focus: 'A|B', skip: 'C', label: '' }, procs: 3, reportDir: '/r', timeoutMinutes: 30 },
      { e2eTest: '/bin/e2e.test', kubectl: '/bin/kubectl', kubeconfig: '/r/kubeconfig', context: 'kc-conformance' },
    );
    const suiteAt = args.indexOf('/bin/e2e.test');
    expect(args[suiteAt + 1]).toBe('--');
    expect(args.slice(0, suiteAt)).toEqual(expect.arrayContaining(['--procs=3', '--timeout=30m', '--focus=A|B', '--skip=C', '--json-report=report.json', '--junit-report=junit.xml', '--output-dir=/r']));
    expect(args.slice(suiteAt + 2)).toEqual(expect.arrayContaining(['--kubeconfig=/r/kubeconfig', '--context=kc-conformance', '--kubectl-path=/bin/kubectl', '--provider=skeleton']));
  });
});

describe('the test images', () => {
  it('has a Dockerfile for each, and takes binaries only from artifacts that ship them', () => {
    for (const image of TEST_IMAGES) {
      expect(existsSync(join(projectRoot(), 'images', 'e2e', image.dockerfile, 'Dockerfile')), image.dockerfile).toBe(true);
      for (const [target, source] of Object.entries(image.files)) {
        if ('artifact' in source) expect(artifactByName(source.artifact).binaries, target).toContain(source.binary);
        else expect(source.moduleFile, target).toMatch(/^test\/images\//);
      }
    }
    expect(existsSync(join(projectRoot(), 'images', 'e2e', 'base', 'Dockerfile'))).toBe(true);
  });

  // Excerpts of k8s.io/kubernetes test/utils/image/manifest.go at two releases.
  const manifestGo = (agnhost: string, busybox: string, nginx: [string, string], etcd: string) => [
    `\tconfigs[Agnhost] = Config{list.PromoterE2eRegistry, "agnhost", "${agnhost}"}`,
    '\tconfigs[AgnhostPrev] = Config{list.PromoterE2eRegistry, "agnhost", "2.55"}',
    '\tconfigs[APIServer] = Config{list.PromoterE2eRegistry, "sample-apiserver", "1.29.2"}',
    `\tconfigs[BusyBox] = Config{list.PromoterE2eRegistry, "busybox", "${busybox}"}`,
    `\tconfigs[Etcd] = Config{list.GcEtcdRegistry, "etcd", "${etcd}"}`,
    '\tconfigs[InvalidRegistryImage] = Config{list.InvalidRegistry, "alpine", "3.1"}',
    '\tconfigs[GlibcDnsTesting] = Config{list.PromoterE2eRegistry, "glibc-dns-testing", "2.1.1"}',
    '\tconfigs[Kitten] = Config{list.PromoterE2eRegistry, "kitten", "1.8"}',
    '\tconfigs[Nautilus] = Config{list.PromoterE2eRegistry, "nautilus", "1.8"}',
    `\tconfigs[Nginx] = Config{list.PromoterE2eRegistry, "nginx", "${nginx[0]}"}`,
    `\tconfigs[NginxNew] = Config{list.PromoterE2eRegistry, "nginx", "${nginx[1]}"}`,
    '\tconfigs[Nonewprivs] = Config{list.PromoterE2eRegistry, "nonewprivs", "1.4"}',
    '\tconfigs[NonRoot] = Config{list.PromoterE2eRegistry, "nonroot", "1.5"}',
    '\tconfigs[Pause] = Config{list.GcRegistry, "pause", "3.10.2"}',
  ].join('\n');

  it('names each image as the release\'s suite does, each name once, and builds an image only after the one it starts from', () => {
    const v137 = nameTestImages(upstreamImageNames(manifestGo('2.66.1', '1.37.0-2', ['1.27.0-2', '1.28.0-2'], '3.7.0-0')));
    const tags = testImageTags(v137);
    expect(new Set(tags).size).toBe(tags.length);
    expect(tags).toEqual(expect.arrayContaining([
      'registry.k8s.io/e2e-test-images/agnhost:2.66.1', 'registry.k8s.io/e2e-test-images/agnhost:2.55', 'registry.k8s.io/etcd:3.7.0-0',
    ]));
    expect(tags.some((t) => t.includes('alpine'))).toBe(false);
    // Kitten and nautilus are built on Alpine, as upstream's (the ImageVolume tests read its os-release); the rest on kc's e2e base.
    expect(v137.filter((image) => image.from).map((image) => `${image.tags.join(',')} on ${image.from}`)).toEqual([
      `registry.k8s.io/e2e-test-images/kitten:1.8 on ${ALPINE_TEST_BASE.image}`,
      `registry.k8s.io/e2e-test-images/nautilus:1.8 on ${ALPINE_TEST_BASE.image}`,
    ]);
    // Another release pulls the same images by other tags.
    const v136 = testImageTags(nameTestImages(upstreamImageNames(manifestGo('2.63.0', '1.37.0-1', ['1.15-4', '1.27-0'], '3.6.8-0'))));
    expect(v136).toEqual(expect.arrayContaining(['registry.k8s.io/e2e-test-images/nginx:1.15-4', 'registry.k8s.io/e2e-test-images/agnhost:2.63.0', 'registry.k8s.io/etcd:3.6.8-0']));
  });

  it('leaves out an image the suite version does not name', () => {
    const withoutGlibc = manifestGo('2.55', '1.36.1-1', ['1.14-4', '1.15-4'], '3.6.6-0').split('\n').filter((l) => !l.includes('GlibcDnsTesting')).join('\n');
    const named = nameTestImages(upstreamImageNames(withoutGlibc));
    expect(named.map((i) => i.dockerfile)).not.toContain('glibc-dns-testing');
    // v1.35's DNS tests ask for jessie-dnsutils instead: the same image serves it.
    const jessie = `${withoutGlibc}\n\tconfigs[JessieDnsutils] = Config{list.PromoterE2eRegistry, "jessie-dnsutils", "1.7"}`;
    expect(nameTestImages(upstreamImageNames(jessie)).find((i) => i.dockerfile === 'glibc-dns-testing')?.tags).toEqual(['registry.k8s.io/e2e-test-images/jessie-dnsutils:1.7']);
    expect(testImageTags(named)).toContain('registry.k8s.io/e2e-test-images/nginx:1.14-4');
    // An image on Alpine needs no other test image named.
    const kittenOnly = '\tconfigs[Kitten] = Config{list.PromoterE2eRegistry, "kitten", "1.8"}';
    expect(nameTestImages(upstreamImageNames(kittenOnly)).map((i) => i.from)).toEqual([ALPINE_TEST_BASE.image]);
  });

  it('says which images a suite names that kc does not build, and builds the HPA tests\' resource-consumer', () => {
    const v137 = [
      manifestGo('2.66.1', '1.37.0-2', ['1.27.0-2', '1.28.0-2'], '3.7.0-0'),
      '\tconfigs[AgnhostPrivate] = Config{list.PrivateRegistry, "agnhost", "2.6"}',
      '\tconfigs[AppArmorLoader] = Config{list.PromoterE2eRegistry, "apparmor-loader", "1.4"}',
      '\tconfigs[ResourceConsumer] = Config{list.PromoterE2eRegistry, "resource-consumer", "1.14"}',
      '\tconfigs[VolumeNFSServer] = Config{list.PromoterE2eRegistry, "volume/nfs", "1.6.0"}',
    ].join('\n');
    // Pause is in every node, the invalid registry's image must fail to pull: neither is "missing".
    expect([...unprovidedTestImages(v137).values()]).toEqual([
      'PrivateRegistry/agnhost:2.6',
      'registry.k8s.io/e2e-test-images/apparmor-loader:1.4',
      'registry.k8s.io/e2e-test-images/volume/nfs:1.6.0',
    ]);
    expect(testImageTags(nameTestImages(upstreamImageNames(v137)))).toContain('registry.k8s.io/e2e-test-images/resource-consumer:1.14');
  });
});
