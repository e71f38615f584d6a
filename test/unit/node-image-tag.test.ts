import { describe, expect, it } from 'vitest';
import { KUBERNETES_VERSION, releaseOf } from '../../src/artifacts/manifest.js';
import { buildableRelease, buildNodeImage, nodeImageTagProblem } from '../../src/image/node-image.js';
import { silentProgress } from '../../src/util/progress.js';
import { UsageError } from '../../src/util/errors.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';

describe('the tag of a node image kc builds', () => {
  it('may name the version being built, or no version at all', () => {
    expect(nodeImageTagProblem(`kc/node:${KUBERNETES_VERSION}`)).toBeUndefined();
    expect(nodeImageTagProblem(`kc/node:${KUBERNETES_VERSION}-dev`)).toBeUndefined();
    expect(nodeImageTagProblem('kc/node:dev')).toBeUndefined();
    expect(nodeImageTagProblem('registry:5000/kc/node')).toBeUndefined();
  });

  it('may not name another Kubernetes version: that would label the built binaries as it', () => {
    const problem = nodeImageTagProblem('kc/node:v1.36.0', 'v1.37.2');
    expect(problem).toContain('--image kc/node:v1.36.0 names Kubernetes v1.36.0');
    expect(problem).toContain('this build is of Kubernetes v1.37.2');
    expect(problem).toContain('--kubernetes-version v1.36.0');
    expect(problem).toContain('kc/node:dev');
    expect(nodeImageTagProblem('registry:5000/kc/node:v1.38.0-rc.1', 'v1.37.2')).toContain('names Kubernetes v1.38.0');
  });

  it('is checked before the build touches the engine', async () => {
    const engine = new FakeEngine();
    await expect(buildNodeImage({ engine, progress: silentProgress, tag: 'kc/node:v1.36.3' })).rejects.toBeInstanceOf(UsageError);
    expect(engine.calls).toEqual([]);
  });
});

describe('which image names kc builds on first use', () => {
  it('builds kc/node:<a supported version>, and nothing else', () => {
    expect(buildableRelease('kc/node:v1.36.3')).toBe(releaseOf('v1.36.3'));
    expect(buildableRelease(`kc/node:${KUBERNETES_VERSION}`)?.kubernetes).toBe(KUBERNETES_VERSION);
    expect(buildableRelease('kc/node:v1.30.0')).toBeUndefined();
    expect(buildableRelease('kc/node:dev')).toBeUndefined();
    expect(buildableRelease('other/node:v1.36.3')).toBeUndefined();
  });
});
