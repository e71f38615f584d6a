/**
 * kc's layers, lowest first: a folder may import only from folders below it
 * (and from itself). Any cycle, between modules or between folders, fails
 * `npm test`. Folders that hold nothing yet simply match nothing.
 */
const LAYERS = ['util', 'provider', 'artifacts', 'config', 'model', 'pki', 'components', 'state', 'image', 'cluster', 'conformance', 'cli'];

/** One rule per layer: it must not import any layer above it. */
const upwardImports = LAYERS.map((layer, index) => {
  const above = LAYERS.slice(index + 1);
  return {
    name: `no-upward-import-from-${layer}`,
    comment: `src/${layer} sits below ${above.join(', ')}: it must not import them (imports point down)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: `^src/(${above.join('|')})/` },
  };
}).filter((rule) => rule.to.path !== '^src/()/');

/**
 * Inside src/cluster, lowest first: one node's container and units; the
 * registry beside the clusters; talking to the cluster (API, kubectl, the shared waits); operations on a whole
 * cluster (delete, list, load, logs, status); then the two kinds of pipeline,
 * create and lifecycle, which share everything below them and nothing with
 * each other.
 */
const CLUSTER_LAYERS = ['node', 'registry', 'kube', 'ops', 'create|lifecycle'];

const clusterUpwardImports = CLUSTER_LAYERS.slice(0, -1).map((layer, index) => {
  const above = CLUSTER_LAYERS.slice(index + 1);
  return {
    name: `no-upward-import-from-cluster-${layer}`,
    comment: `src/cluster/${layer} sits below ${above.join(', ')}: it must not import them`,
    severity: 'error',
    from: { path: `^src/cluster/${layer}/` },
    to: { path: `^src/cluster/(${above.join('|')})/` },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle between modules: one of them must move down, or the shared part must',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'only-docker-provider-imports-dockerode',
      comment: 'dockerode and ssh2 (how kc reaches an engine) are the Docker provider\'s business: everything else uses the provider interface',
      severity: 'error',
      from: { pathNot: '^src/provider/docker/' },
      to: { path: 'node_modules/(dockerode|@types/dockerode|ssh2|@types/ssh2)/' },
    },
    {
      name: 'fake-provider-only-in-tests',
      comment: 'The in-memory engine is for unit tests: kc itself always talks to a real engine',
      severity: 'error',
      from: { path: '^(src|bench)/', pathNot: '^src/provider/fake/' },
      to: { path: '^src/provider/fake/' },
    },
    {
      name: 'providers-stand-alone',
      comment: 'Each provider implements provider.ts on its own',
      severity: 'error',
      from: { path: '^src/provider/docker/' },
      to: { path: '^src/provider/fake/' },
    },
    ...upwardImports,
    ...clusterUpwardImports,
    {
      name: 'create-and-lifecycle-apart',
      comment: 'create and the lifecycle commands share node/, kube/ and ops/: what one needs of the other belongs down there',
      severity: 'error',
      from: { path: '^src/cluster/(create|lifecycle)/' },
      to: { path: '^src/cluster/(create|lifecycle)/', pathNot: '^src/cluster/$1/' },
    },
    {
      name: 'lifecycle-commands-apart',
      comment:
        'each lifecycle command (add-node.ts, upgrade.ts, ...) only says which moves, in which order: what two of them share is a move (lifecycle/moves/) or the runner',
      severity: 'error',
      from: { path: '^src/cluster/lifecycle/[^/]+[.]ts$' },
      to: { path: '^src/cluster/lifecycle/[^/]+[.]ts$', pathNot: '^src/cluster/lifecycle/runner[.]ts$' },
    },
    {
      name: 'moves-below-the-runner',
      comment: 'the membership moves sit below the runner and the commands: they name neither',
      severity: 'error',
      from: { path: '^src/cluster/lifecycle/moves/' },
      to: { path: '^src/cluster/lifecycle/[^/]+[.]ts$' },
    },
    {
      name: 'cluster-files-in-a-folder',
      comment: 'every file of src/cluster belongs to one of its folders (create, lifecycle, node, kube, ops)',
      severity: 'error',
      from: { path: '^src/cluster/[^/]+$' },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // Type-only imports are imports too: a type from above couples the layers just the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
