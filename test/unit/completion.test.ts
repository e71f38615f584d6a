import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { completionScript, parseCommandWords, shellFromEnv } from '../../src/cli/completion.js';

// What `ZSH_NAME=zsh kc --get-yargs-completions kc ''` prints.
const YARGS_OUTPUT = `build:Build images
create:Create a cluster
export:Export kubeconfigs and logs
version:Print kc and component versions
odd\\:name:Has a colon
--quiet:Print only errors and results
--q:Print only errors and results
--help:Show help
`;

const COMMANDS = parseCommandWords(YARGS_OUTPUT);

describe('kc completion', () => {
  it('reads commands and descriptions from yargs completions, leaving out options', () => {
    expect(COMMANDS).toEqual([
      { name: 'build', description: 'Build images' },
      { name: 'create', description: 'Create a cluster' },
      { name: 'export', description: 'Export kubeconfigs and logs' },
      { name: 'version', description: 'Print kc and component versions' },
      { name: 'odd:name', description: 'Has a colon' },
    ]);
    expect(parseCommandWords('build\ncreate\n')).toEqual([
      { name: 'build', description: '' },
      { name: 'create', description: '' },
    ]);
  });

  it('picks the shell from the environment', () => {
    expect(shellFromEnv({ SHELL: '/usr/bin/zsh' })).toBe('zsh');
    expect(shellFromEnv({ SHELL: '/bin/bash', ZSH_NAME: 'zsh' })).toBe('zsh');
    expect(shellFromEnv({ SHELL: '/bin/bash' })).toBe('bash');
    expect(shellFromEnv({})).toBe('bash');
  });

  it('makes a bash script that names kc and its commands and is valid bash', () => {
    const script = completionScript('bash', COMMANDS);
    expect(script).toContain('complete -o bashdefault -o default -F _kc_completions kc');
    expect(script).toContain("top='build create export version odd:name'");
    expect(script).toContain('kc --get-yargs-completions');
    execFileSync('bash', ['-n'], { input: script });
  });

  it('completes the top level from the script and the rest from kc', () => {
    const script = completionScript('bash', COMMANDS);
    const probe = `${script}
exec 3>&2  # the script silences kc's stderr: report the arguments on another descriptor
kc() { printf '%s\\n' "args:$*" >&3; printf '%s\\n' kubeconfig logs --name --q; }
COMP_WORDS=(kc ex); COMP_CWORD=1; _kc_completions; echo "1:\${COMPREPLY[*]}"
COMP_WORDS=(kc export ''); COMP_CWORD=2; _kc_completions; echo "2:\${COMPREPLY[*]}"
COMP_WORDS=(kc export logs --); COMP_CWORD=3; _kc_completions; echo "3:\${COMPREPLY[*]}"
`;
    const result = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
    // The top level never starts kc; deeper words ask kc with the words up to the cursor.
    expect(result.stdout).toBe('1:export\n2:kubeconfig logs --name\n3:--name\n');
    expect(result.stderr).toBe('args:--get-yargs-completions kc export \nargs:--get-yargs-completions kc export logs --\n');
  });

  it('still completes everything through kc when the top level is unknown', () => {
    expect(completionScript('bash', [])).toContain("top=''");
  });

  it('makes a zsh script with described commands', () => {
    const script = completionScript('zsh', COMMANDS);
    expect(script.startsWith('#compdef kc\n')).toBe(true);
    expect(script).toContain("'create:Create a cluster'");
    expect(script).toContain("'odd\\:name:Has a colon'");
    expect(script).toContain('compdef _kc kc');
  });
});
