import { describe, expect, it } from 'vitest';
import { KUBERNETES_VERSION } from '../../src/artifacts/manifest.js';
import { buildNodeImage, nodeImageTagProblem } from '../../src/image/node-image.js';
import { silentProgress } from '../../src/util/progress.js';
import { UsageError } from '../../src/util/errors.js';
import { FakeEngine } from '../../src/provider/fake/engine.js';

describe('the tag of a node image kc builds', () => {
  it('may name the pinned Kubernetes version, or no version at all', () => {
    expect(nodeImageTagProblem(`kc/node:${KUBERNETES_VERSION}`)).toBeUndefined();
    expect(nodeImageTagProblem(`kc/node:${KUBERNETES_VERSION}-dev`)).toBeUndefined();
    expect(nodeImageTagProblem('kc/node:dev')).toBeUndefined();
    expect(nodeImageTagProblem('registry:5000/kc/node')).toBeUndefined();
  });

  it('may not name another Kubernetes version: that would label the pinned binaries as it', () => {
    const problem = nodeImageTagProblem('kc/node:v1.36.0', 'v1.37.2');
    expect(problem).toContain('--image kc/node:v1.36.0 names Kubernetes v1.36.0');
    expect(problem).toContain('pinned Kubernetes v1.37.2');
    expect(problem).toContain('kc/node:dev');
    expect(nodeImageTagProblem('registry:5000/kc/node:v1.38.0-rc.1', 'v1.37.2')).toContain('names Kubernetes v1.38.0');
  });

  it('is checked before the build touches the engine', async () => {
    const engine = new FakeEngine();
    const other = (KUBERNETES_VERSION as string) === 'v1.36.0' ? 'v1.35.0' : 'v1.36.0';
    await expect(buildNodeImage({ engine, progress: silentProgress, tag: `kc/node:${other}` })).rejects.toBeInstanceOf(UsageError);
    expect(engine.calls).toEqual([]);
  });
});
