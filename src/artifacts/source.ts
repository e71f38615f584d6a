import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../util/exec.js';
import type { Artifact, CBuild, GoBuild } from './manifest.js';
import { renderMultiCallMain, type MultiCall } from './multicall.js';
import { sha256File } from './cache.js';
import { projectRoot } from '../util/paths.js';

/** Source builds need a toolchain; say exactly which and how to get it. */
export class ToolchainMissingError extends Error {
  constructor(tool: string, hint: string) {
    super(`building from source needs ${tool}, which is not available: ${hint}`);
    this.name = 'ToolchainMissingError';
  }
}

export interface SourceBuildOptions {
  /** Folder for the build module (go.mod/go.sum) and the build log; kept between builds. */
  workDir: string;
}

interface ModuleInfo {
  Dir?: string;
  GoMod?: string;
  Error?: string;
}

async function goEnv(name: string): Promise<string> {
  try {
    return (await run('go', ['env', name])).trim();
  } catch {
    throw new ToolchainMissingError('Go 1.26 or newer', 'install it from https://go.dev/dl or your package manager');
  }
}

export async function downloadModule(module: string, version: string, workDir: string): Promise<ModuleInfo> {
  const output = await run('go', ['mod', 'download', '-json', `${module}@${version}`], { cwd: workDir });
  const info = JSON.parse(output) as ModuleInfo;
  if (info.Error) throw new Error(`cannot download Go module ${module}@${version}: ${info.Error}`);
  return info;
}

/** The `replace X => ./dir` lines of a go.mod: siblings the module proxy does not ship. */
export function localReplaces(goMod: string): string[] {
  const modules: string[] = [];
  for (const line of goMod.split('\n')) {
    const match = /^\s*(?:replace\s+)?(\S+)(?:\s+\S+)?\s+=>\s+\.\.?\//.exec(line);
    if (match?.[1]) modules.push(match[1]);
  }
  return modules;
}

/**
 * The `replace X => Y vN` lines of a go.mod that point at another module (a
 * fork), as `{ X: 'Y vN' }`; local folders are localReplaces' business.
 */
export function forkReplaces(goMod: string): Record<string, string> {
  const forks: Record<string, string> = {};
  for (const line of goMod.split('\n')) {
    const match = /^\s*(?:replace\s+)?(\S+)(?:\s+v\S+)?\s+=>\s+([^\s.][^\s]*)\s+(v\S+)\s*(?:\/\/.*)?$/.exec(line);
    if (match?.[1] && match[2] && match[3]) forks[match[1]] = `${match[2]} ${match[3]}`;
  }
  return forks;
}

/** The modules a go.mod requires (`require X v` lines and `require ( … )` blocks). */
export function requiredModules(goMod: string): string[] {
  const modules: string[] = [];
  let inBlock = false;
  for (const line of goMod.split('\n')) {
    const trimmed = line.trim();
    if (inBlock && trimmed === ')') inBlock = false;
    else if (/^require\s*\($/.test(trimmed)) inBlock = true;
    else {
      const match = (inBlock ? /^(\S+)\s+v\S+/ : /^require\s+(\S+)\s+v\S+/).exec(trimmed);
      if (match?.[1]) modules.push(match[1]);
    }
  }
  return modules;
}

/** What a build module says of the siblings a module replaces with local folders. */
export interface LocalReplacePins {
  /** Each sibling replaced by its published twin at the version. */
  replaces: Record<string, string>;
  /** Each sibling the module requires, required at that version too. */
  requires: Record<string, string>;
}

/**
 * Points k8s.io/kubernetes's `./staging/...` replaces at their published twins
 * at `version`, and requires the ones it requires at that version. Without the
 * requires, Go selects `v0.0.0 => vX` or `vX => vX` for a sibling depending on
 * what else a build module requires, and -trimpath names source files
 * module@version, so the same files compile under other build-cache keys: the
 * conformance suite recompiled about 2,600 of its 2,840 packages that the
 * Kubernetes binaries had just compiled.
 */
export function localReplacePins(goMod: string, version: string): LocalReplacePins {
  const required = new Set(requiredModules(goMod));
  const pins: LocalReplacePins = { replaces: {}, requires: {} };
  for (const sibling of localReplaces(goMod)) {
    pins.replaces[sibling] = `${sibling} ${version}`;
    if (required.has(sibling)) pins.requires[sibling] = version;
  }
  return pins;
}

/** The go.mod of the throw-away module that requires what we build, as a dependency. */
export function renderBuildModule(
  name: string,
  goVersion: string,
  build: GoBuild,
  replaces: Record<string, string>,
  pinnedRequires: Record<string, string> = {},
): string {
  const lines = [`module kc.build/${name}`, '', `go ${goVersion}`, '', 'require ('];
  const requires = { ...pinnedRequires, ...build.modules, ...build.raisedDependencies };
  for (const [module, version] of Object.entries(requires)) lines.push(`\t${module} ${version}`);
  lines.push(')');
  const replaceEntries = Object.entries(replaces);
  if (replaceEntries.length > 0) {
    lines.push('', 'replace (');
    for (const [module, target] of replaceEntries) lines.push(`\t${module} => ${target}`);
    lines.push(')');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * No DWARF from the compiler: -ldflags -w drops it from the binary anyway, but
 * Go still generates it per package unless told. Measured on CoreDNS with an
 * empty build cache: 12-17% less compile CPU and a 21% smaller cache.
 */
export const GO_GCFLAGS = 'all=-dwarf=false';

/** The -ldflags of a build: stripped, and stamped with the real version. */
export function goLdflags(build: GoBuild): string {
  const stamps = Object.entries(build.versionVars ?? {}).map(([name, value]) => `-X ${name}=${value}`);
  return ['-s', '-w', ...stamps].join(' ');
}

/** The binary name `go build -o dir/` gives a package: its last path element, skipping a /vN suffix. */
export function defaultBinaryName(importPath: string): string {
  const parts = importPath.split('/');
  const last = parts[parts.length - 1] ?? importPath;
  return /^v\d+$/.test(last) && parts.length > 1 ? (parts[parts.length - 2] ?? last) : last;
}

/**
 * A cgo build (runc, with libseccomp) needs a C toolchain and the library's
 * headers: said up front, since a host set up for running clusters only
 * (KC_SETUP_PROFILE=runtime, the GitHub Action) has none of them, and Go's
 * own error would name a missing header.
 */
async function checkCgoTools(build: GoBuild): Promise<void> {
  const needs = 'gcc, libc6-dev, pkg-config and libseccomp-dev';
  const hint = 'install them (apt-get install gcc libc6-dev pkg-config libseccomp-dev, or scripts/setup-host.sh without KC_SETUP_PROFILE=runtime)';
  try {
    await run('cc', ['--version']);
    if (build.tags?.includes('seccomp')) await run('pkg-config', ['--exists', 'libseccomp']);
  } catch {
    throw new ToolchainMissingError(needs, hint);
  }
}

/** The go.mod of a module the build requires (at its version in `modules`), through the module proxy. */
async function requiredGoMod(artifact: Artifact, module: string, option: string, workDir: string): Promise<string> {
  const version = artifact.source.kind === 'go' ? artifact.source.modules[module] : undefined;
  if (!version) throw new Error(`${artifact.name}: ${option} names ${module}, which is not built`);
  const info = await downloadModule(module, version, workDir);
  return readFile(info.GoMod ?? '', 'utf8');
}

async function buildGo(artifact: Artifact, build: GoBuild, binDir: string, options: SourceBuildOptions): Promise<void> {
  const goVersion = (await goEnv('GOVERSION')).replace(/^go/, '');
  if (build.cgo) await checkCgoTools(build);
  await mkdir(options.workDir, { recursive: true });
  const replaces: Record<string, string> = {};
  const pinnedRequires: Record<string, string> = {};
  if (build.localReplacesAt) {
    const { module, version } = build.localReplacesAt;
    const pins = localReplacePins(await requiredGoMod(artifact, module, 'localReplacesAt', options.workDir), version);
    Object.assign(replaces, pins.replaces);
    Object.assign(pinnedRequires, pins.requires);
  }
  if (build.forkReplacesOf) {
    Object.assign(replaces, forkReplaces(await requiredGoMod(artifact, build.forkReplacesOf, 'forkReplacesOf', options.workDir)));
  }
  await writeFile(join(options.workDir, 'go.mod'), renderBuildModule(artifact.name, goVersion, build, replaces, pinnedRequires));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOFLAGS: '-mod=mod -buildvcs=false',
    CGO_ENABLED: build.cgo ? '1' : '0',
  };
  const common = ['build', '-trimpath', '-gcflags', GO_GCFLAGS, '-ldflags', goLdflags(build)];
  if (build.tags?.length) common.push('-tags', build.tags.join(','));
  const logFile = join(options.workDir, 'build.log');
  if (build.multiCall) {
    await buildMultiCall(build.multiCall, artifact.binaries, binDir, { common, cwd: options.workDir, env, logFile });
    return;
  }
  if (build.localMain) {
    await buildLocalMain(build.localMain, binDir, { common, cwd: options.workDir, env, logFile });
    return;
  }
  // Packages whose binary keeps Go's default name build in one invocation (Go
  // links them in parallel); the others one by one with an explicit -o.
  const entries = Object.entries(build.packages);
  const together = entries.filter(([pkg, binary]) => defaultBinaryName(pkg) === binary).map(([pkg]) => pkg);
  if (together.length > 0) {
    await run('go', [...common, '-o', `${binDir}/`, ...together], { cwd: options.workDir, env, logFile });
  }
  for (const [pkg, binary] of entries.filter(([pkg, binary]) => defaultBinaryName(pkg) !== binary)) {
    await run('go', [...common, '-o', join(binDir, binary), pkg], { cwd: options.workDir, env, logFile });
  }
  // `go test -c` takes the same flags, so packages shared with the binaries above come from the build cache.
  for (const [pkg, binary] of Object.entries(build.testPackages ?? {})) {
    await run('go', ['test', '-c', ...common.slice(1), '-o', join(binDir, binary), pkg], { cwd: options.workDir, env, logFile });
  }
}

/** Folder of the multi-call main package inside the build module. */
const MULTI_CALL_PACKAGE = 'multicall';

/** Links the multi-call binary, then makes each binary a relative symbolic link to it. */
async function buildMultiCall(
  multiCall: MultiCall,
  binaries: string[],
  binDir: string,
  go: { common: string[]; cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<void> {
  const missing = binaries.filter((binary) => !(binary in multiCall.commands));
  if (missing.length > 0) throw new Error(`multi-call binary ${multiCall.binary} has no command for ${missing.join(', ')}`);
  await mkdir(join(go.cwd, MULTI_CALL_PACKAGE), { recursive: true });
  await writeFile(join(go.cwd, MULTI_CALL_PACKAGE, 'main.go'), renderMultiCallMain(multiCall));
  await run('go', [...go.common, '-o', join(binDir, multiCall.binary), `./${MULTI_CALL_PACKAGE}`], { cwd: go.cwd, env: go.env, logFile: go.logFile });
  for (const binary of binaries) await symlink(multiCall.binary, join(binDir, binary));
}

/** Folder of a main package kc ships, inside the build module. */
const LOCAL_MAIN_PACKAGE = 'kcmain';

/**
 * Copies a main package kc ships into the build module, checked against its
 * pinned sha256 (its artifact's version names that revision), and builds it.
 */
async function buildLocalMain(
  localMain: NonNullable<GoBuild['localMain']>,
  binDir: string,
  go: { common: string[]; cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<void> {
  const source = join(projectRoot(), localMain.folder, 'main.go');
  const actual = await sha256File(source);
  if (actual !== localMain.sha256) {
    throw new Error(`${source} has sha256 ${actual}, not the ${localMain.sha256} its artifact pins: give it a new revision in src/artifacts/manifest.ts and pin the new sha256`);
  }
  await mkdir(join(go.cwd, LOCAL_MAIN_PACKAGE), { recursive: true });
  await copyFile(source, join(go.cwd, LOCAL_MAIN_PACKAGE, 'main.go'));
  await run('go', [...go.common, '-o', join(binDir, localMain.binary), `./${LOCAL_MAIN_PACKAGE}`], { cwd: go.cwd, env: go.env, logFile: go.logFile });
}

async function buildC(build: CBuild, binDir: string, options: SourceBuildOptions): Promise<void> {
  await mkdir(options.workDir, { recursive: true });
  const info = await downloadModule(build.module, build.version, options.workDir);
  if (!info.Dir) throw new Error(`Go module ${build.module}@${build.version} has no source folder`);
  const source = join(options.workDir, basename(build.file));
  await copyFile(join(info.Dir, build.file), source);
  const defines = Object.entries(build.defines ?? {}).map(([name, value]) => `-D${name}=${value}`);
  const output = join(binDir, build.binary);
  try {
    await run('cc', ['-Os', '-static', '-Wall', ...defines, '-o', output, source], {
      cwd: options.workDir,
      logFile: join(options.workDir, 'build.log'),
    });
  } catch (error) {
    if ((error as Error).message.startsWith('cannot run')) {
      throw new ToolchainMissingError('a C compiler with static libc (gcc, libc6-dev)', 'run scripts/setup-host.sh');
    }
    throw error;
  }
  await run('strip', [output]);
}

/** Builds an artifact from source into binDir. */
export async function buildFromSource(artifact: Artifact, binDir: string, options: SourceBuildOptions): Promise<void> {
  const build = artifact.source;
  if (build.kind === 'go') await buildGo(artifact, build, binDir, options);
  else await buildC(build, binDir, options);
}
