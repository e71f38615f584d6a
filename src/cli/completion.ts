import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CommandModule } from 'yargs';
import { projectRoot } from '../util/paths.js';
import type { GlobalOptions } from './options.js';

/**
 * `kc completion [bash|zsh]`: a shell completion script. The script asks kc
 * itself (yargs' `--get-yargs-completions`) for subcommands, options and
 * choices, so it never goes stale; the top-level commands are written into
 * the script, so completing them is instant and works even when kc cannot
 * start.
 */

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CommandWord {
  name: string;
  description: string;
}

export function shellFromEnv(env: NodeJS.ProcessEnv = process.env): Shell {
  return env.ZSH_NAME || /zsh$/.test(env.SHELL ?? '') ? 'zsh' : 'bash';
}

/**
 * Commands from yargs' completion output in zsh style (`name:description`,
 * colons in names escaped as `\:`); options (`--x`) are left out.
 */
export function parseCommandWords(output: string): CommandWord[] {
  const words: CommandWord[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim() || line.startsWith('-')) continue;
    const match = /^((?:\\:|[^:])+)(?::(.*))?$/.exec(line);
    if (!match?.[1]) continue;
    words.push({ name: match[1].replace(/\\:/g, ':'), description: (match[2] ?? '').trim() });
  }
  return words;
}

function singleQuoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function bashScript(commands: CommandWord[]): string {
  const names = commands.map((c) => c.name).join(' ');
  return `###-begin-kc-completions-###
# bash completion for kc, made by \`kc completion bash\`.
# Install: kc completion bash > /etc/bash_completion.d/kc
#      or: echo 'source <(kc completion bash)' >> ~/.bashrc
# Top-level commands are listed here; kc itself completes the rest
# (kc --get-yargs-completions kc WORDS...), so new options show up without
# regenerating this script.
_kc_completions() {
  local cur=\${COMP_WORDS[COMP_CWORD]} words top=${singleQuoted(names)}
  if [[ $COMP_CWORD -eq 1 && $cur != -* && -n $top ]]; then
    words=$top
  else
    # yargs also offers one-letter aliases as --q, --v: leave those out.
    words=$(kc --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null | grep -v -e '^--.$')
  fi
  # shellcheck disable=SC2207 # completion words never contain spaces
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _kc_completions kc
###-end-kc-completions-###
`;
}

function zshScript(commands: CommandWord[]): string {
  const entries = commands
    .map((c) => `    ${singleQuoted(`${c.name.replace(/:/g, '\\:')}${c.description ? `:${c.description}` : ''}`)}`)
    .join('\n');
  return `#compdef kc
###-begin-kc-completions-###
# zsh completion for kc, made by \`kc completion zsh\`.
# Install: kc completion zsh > "\${fpath[1]}/_kc"
#      or: echo 'source <(kc completion zsh)' >> ~/.zshrc
# Top-level commands are listed here; kc itself completes the rest
# (kc --get-yargs-completions kc WORDS...), so new options show up without
# regenerating this script.
_kc() {
  local -a reply
  local -a commands=(
${entries}
  )
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]] && (( \${#commands} )); then
    reply=("\${commands[@]}")
  else
    reply=(\${(f)"$(ZSH_NAME=zsh kc --get-yargs-completions "\${(@)words[1,CURRENT]}" 2>/dev/null)"})
    # yargs also offers one-letter aliases as --q, --v: leave those out.
    reply=(\${reply:#--?})
    reply=(\${reply:#--?:*})
  fi
  if (( \${#reply} )); then
    _describe 'values' reply
  else
    _default
  fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then
  _kc "$@"
else
  compdef _kc kc
fi
###-end-kc-completions-###
`;
}

/** The completion script for a shell, with these top-level commands built in. */
export function completionScript(shell: Shell, commands: CommandWord[]): string {
  return shell === 'zsh' ? zshScript(commands) : bashScript(commands);
}

/** kc's top-level commands and their descriptions, as kc's own completion reports them. */
async function topLevelCommands(): Promise<CommandWord[]> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(projectRoot(), 'bin', 'kc'), '--get-yargs-completions', 'kc', ''], {
      env: { ...process.env, ZSH_NAME: 'zsh' },
      timeout: 30_000,
    });
    return parseCommandWords(stdout);
  } catch {
    // The script still works: kc completes the top level too, just not instantly.
    return [];
  }
}

interface CompletionArgs extends GlobalOptions {
  shell?: Shell;
}

export const completionCommand: CommandModule<GlobalOptions, CompletionArgs> = {
  command: 'completion [shell]',
  describe: 'Print a shell completion script (bash or zsh; default: your $SHELL)',
  builder: (yargs) => yargs.positional('shell', { choices: SHELLS, describe: 'Shell to complete in' }),
  handler: async (args) => {
    const shell = args.shell ?? shellFromEnv();
    process.stdout.write(completionScript(shell, await topLevelCommands()));
  },
};
