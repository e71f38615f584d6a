import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What kc learns of an engine and its host before it creates anything. */
export interface EngineFacts {
  /** The engine's CPU architecture as Docker names it (amd64, arm64). */
  arch: string | undefined;
  /** Docker's `SecurityOptions` (name=apparmor, name=seccomp,...); undefined when not asked (a remote engine). */
  securityOptions: string[] | undefined;
  /** Whether the host has apparmor_parser; undefined for a remote engine, whose host kc cannot see. */
  apparmorParser: boolean | undefined;
}

/**
 * Why kc cannot use an engine that answers, in words that name the fix;
 * undefined when it can. Pure: the facts are gathered by the Docker provider.
 */
export function engineProblem(facts: EngineFacts): string | undefined {
  if (facts.arch !== undefined && facts.arch !== 'amd64') {
    return (
      `this Docker engine runs on ${facts.arch}, and kc's node images are amd64 only (the binaries kc downloads and builds): ` +
      'use an amd64 (x86_64) machine, e.g. runs-on: ubuntu-latest rather than an arm runner'
    );
  }
  if (facts.securityOptions?.includes('name=apparmor') && facts.apparmorParser === false) {
    return (
      'AppArmor is enabled on this host, but its tools are not installed (apparmor_parser): Docker cannot load its ' +
      'docker-default profile, so every unprivileged container (kc\'s registry) fails to start. ' +
      'Install them (`apt-get install apparmor`; scripts/setup-host.sh does it), then run this again'
    );
  }
  return undefined;
}

/** Whether apparmor_parser is on PATH or in the sbin folders root's PATH has. */
export function hostHasApparmorParser(path = process.env.PATH ?? ''): boolean {
  const dirs = [...path.split(delimiter), '/sbin', '/usr/sbin'].filter(Boolean);
  return dirs.some((dir) => existsSync(join(dir, 'apparmor_parser')));
}
