// roost ssh NAME [-- CMD]: ssh into a VM by name, the rootless replacement for libvirt's NSS module.
//
// The target comes from the domain itself: passt VMs are reached through the host port forwarded to guest port
// 22 (on 127.0.0.1), bridged ones at the address `roost ip` finds, with the login user and key roost recorded at
// create time. Host keys are remembered per VM in roost's own known_hosts file (keyed by the alias NAME.roost, so
// a forwarded port reused by another VM cannot be mistaken for this one), and forgotten when the VM is removed or
// created again.
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainXml, type ParsedDomain } from '../domain-xml/parse.js';
import type { Domain } from '../libvirt/types.js';
import { RoostError } from '../errors.js';
import { ipVersion } from '../ip-literal.js';
import { dialAddress } from '../net/port-spec.js';
import type { SshHostEntry } from '../net/ssh-config.js';
import { cliEntryFile } from '../package-root.js';
import type { RoostPaths } from '../paths.js';
import { isRemote, type VmContext } from './context.js';
import { toPortForward } from './forwards.js';
import { lookupVm } from './lookup.js';

export interface SshTarget {
  alias: string;
  /** An IP address — of this host, or for a VM of another host (`via` set) as that host sees it. */
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  /** A VM of another host: how host:port is reached from there (remote-tunnel.ts). */
  via?: RemoteJump;
}

/** ssh -W through the remote host to a target: its argv, and the same as ssh's ProxyCommand text. */
export interface RemoteJump {
  argv: string[];
  /** argv quoted for ssh's ProxyCommand (which the user's shell runs after ssh expands %-tokens). */
  proxyCommand: string;
}

export function sshDir(paths: RoostPaths): string {
  return join(paths.data, 'ssh');
}

export function knownHostsFile(paths: RoostPaths): string {
  return join(sshDir(paths), 'known_hosts');
}

/**
 * Why a domain's roost metadata gives no usable ssh login, or undefined when it does: values that failed their
 * check on read (metadata.ts) are named, never used — any domain in the session can carry that metadata.
 */
export function sshMetadataProblem(p: ParsedDomain): string | undefined {
  const refused = p.roost?.refused;
  if (!refused?.length) return undefined;
  return `its roost metadata is refused: ${refused.map((r) => `${r.field}: ${r.reason}`).join('; ')}`;
}

/** Where guest port 22 is reachable from this host, and as whom; undefined when the VM gives no way in. */
export function sshTargetOf(name: string, p: ParsedDomain): SshTarget | undefined {
  for (const nic of p.nics) {
    for (const spec of nic.ports) {
      const f = toPortForward(spec);
      const span = f.hostEnd - f.hostStart;
      // The address comes from the domain XML: only an IP literal is dialled (never a word ssh reads as an option).
      if (ipVersion(dialAddress(f)) === 0) continue;
      if (f.proto === 'tcp' && f.guestStart <= 22 && 22 <= f.guestStart + span) {
        return {
          alias: `${name}.roost`,
          host: dialAddress(f),
          port: f.hostStart + (22 - f.guestStart),
          user: p.roost?.sshUser ?? 'root',
          identityFile: p.roost?.sshKeyPath,
        };
      }
    }
  }
  return undefined;
}

/**
 * How to reach a VM's sshd: the host port forwarded to guest port 22 (passt), else guest port 22 at the address
 * `roost ip` finds for a bridge or network NIC. Errors: NO_SSH_ROUTE when the VM gives no way in at all,
 * SSH_ADDRESS_UNKNOWN when it could be reached but no address is known yet (a guest still waiting for its lease).
 */
export async function resolveSshTarget(ctx: VmContext, name: string): Promise<SshTarget> {
  const dom = await lookupVm(ctx, name);
  const parsed = parseDomainXml(await ctx.client.getXml(dom));
  const bad = sshMetadataProblem(parsed);
  if (bad !== undefined) {
    throw new RoostError('SSH_METADATA_REFUSED', `cannot ssh into VM '${name}': ${bad}`, {
      hint: `give the user and key yourself: ssh -p PORT -i KEY USER@HOST (see roost port ls ${name})`,
    });
  }
  const direct = sshTargetOf(dom.name, parsed) ?? (await bridgedTarget(ctx, dom, parsed, name));
  return viaItsHost(ctx, dom.name, direct);
}

/** A VM of another host is reached through that host (remote-tunnel.ts); one of this host's as it is. */
async function viaItsHost(ctx: VmContext, name: string, target: SshTarget): Promise<SshTarget> {
  if (!isRemote(ctx)) return target;
  const { throughRemoteHost } = await import('./remote-tunnel.js');
  return throughRemoteHost(ctx, name, target);
}

/** A VM without a forward to guest port 22: port 22 at the address `roost ip` finds for its bridge or network NIC. */
async function bridgedTarget(
  ctx: VmContext,
  dom: Domain,
  parsed: ParsedDomain,
  name: string,
): Promise<SshTarget> {
  if (!parsed.nics.some((n) => n.type !== 'user')) {
    throw new RoostError(
      'NO_SSH_ROUTE',
      `VM '${name}' has no way in for ssh: no forward to guest port 22 and no bridge or network NIC`,
      { hint: `forward one: roost port add ${name} 2222:22` },
    );
  }
  const { addressesOf } = await import('./ip.js');
  const found = await addressesOf(ctx, dom, parsed);
  if (found.ip === null) {
    throw new RoostError('SSH_ADDRESS_UNKNOWN', `no address is known for VM '${name}' (${found.state}) yet`, {
      hint:
        found.state === 'running'
          ? `see where roost looked: roost ip ${name}`
          : `start it and wait for a login: roost start ${name} --wait ssh`,
    });
  }
  return {
    alias: `${dom.name}.roost`,
    host: found.ip,
    port: 22,
    user: parsed.roost?.sshUser ?? 'root',
    identityFile: parsed.roost?.sshKeyPath,
  };
}

/** The ssh(1) argument array for a target; never a shell string. */
export function sshArgs(
  target: SshTarget,
  paths: RoostPaths,
  command: string[] = [],
  opts: {
    batch?: boolean;
    /** More ssh options, e.g. -M -S CTL for a control master. */ extra?: string[];
  } = {},
): string[] {
  const args = ['-p', String(target.port), ...sshIdentityOptions(target, paths)];
  if (opts.batch) args.push('-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5');
  if (opts.extra) args.push(...opts.extra);
  args.push('-l', target.user, target.host);
  if (command.length) args.push('--', ...command);
  return args;
}

/**
 * The options that make any OpenSSH client (ssh, scp, sftp) check the VM's host key in roost's known_hosts
 * under the VM's alias and log in with the key roost recorded. Every one is `-o`/`-i` with its value, which the
 * three programs read alike (their port and user flags differ: each caller adds its own).
 */
export function sshIdentityOptions(target: SshTarget, paths: RoostPaths): string[] {
  const args = [
    '-o',
    `HostKeyAlias=${target.alias}`,
    '-o',
    `UserKnownHostsFile=${knownHostsFile(paths)}`,
    '-o',
    'StrictHostKeyChecking=accept-new',
    // Debian's /etc/ssh/ssh_config hashes new known_hosts lines; a hashed line cannot be found by its alias to
    // be forgotten (forgetHostKey), and the file is roost's own, naming only VM aliases.
    '-o',
    'HashKnownHosts=no',
    '-o',
    'LogLevel=ERROR',
  ];
  if (target.identityFile) args.push('-i', target.identityFile, '-o', 'IdentitiesOnly=yes');
  if (target.via) args.push('-o', `ProxyCommand=${target.via.proxyCommand}`);
  return args;
}

/**
 * Forgets a VM's host key (its disk and so its key are gone, or about to be replaced); a VM of another host's is
 * under its own alias (remote-tunnel.ts remoteSshAlias).
 */
export function forgetHostKey(paths: RoostPaths, name: string, alias = `${name}.roost`): void {
  const file = knownHostsFile(paths);
  if (!existsSync(file)) return;
  const names = [alias, `[${alias}]`];
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) =>
      (line.split(' ')[0] ?? '').split(',').every((h) => !names.some((n) => hostMatches(h, n))),
    );
  mkdirSync(sshDir(paths), { recursive: true, mode: 0o700 });
  writeFileSync(file, kept.join('\n'), { mode: 0o600 });
}

/**
 * One host field of a known_hosts line names `host`: written out, or hashed as OpenSSH's HashKnownHosts writes it
 * (`|1|base64 salt|base64 HMAC-SHA1(salt, host)`), which older roost versions left on hosts that hash by default.
 */
function hostMatches(field: string, host: string): boolean {
  const hashed = /^\|1\|([^|]+)\|([^|]+)$/.exec(field);
  if (!hashed) return field === host;
  return createHmac('sha1', Buffer.from(hashed[1]!, 'base64')).update(host).digest('base64') === hashed[2];
}

/** A VM left out of the ssh include file, and why. */
export interface SshConfigSkip {
  vm: string;
  reason: string;
}

/**
 * Regenerates roost's ssh include file from the VMs that have an ssh route and a recorded login user, and adds
 * the Include line to ~/.ssh/config the first time there is one. VMs without a recorded user (e.g. a kernel
 * booted by hand) are left out, so creating those never touches ~/.ssh/config. A VM whose name, metadata or
 * forward cannot be written as an exact ssh_config value is left out too, and listed in `skipped` with why.
 */
export async function syncSshConfig(
  ctx: VmContext,
): Promise<{ hosts: string[]; skipped: SshConfigSkip[]; userConfigChanged: boolean }> {
  const { installSshConfig, proxyCommandText, sshHostEntryProblem } = await import('../net/ssh-config.js');
  const doms = await ctx.client.listDomains();
  const xmls = await Promise.all(doms.map((d) => ctx.client.getXml(d)));
  const cli = cliEntryFile();
  const skipped: SshConfigSkip[] = [];
  const entries = xmls.flatMap((xml, i): SshHostEntry[] => {
    const p = parseDomainXml(xml);
    const name = doms[i]!.name;
    const bad = sshMetadataProblem(p);
    if (bad !== undefined) {
      skipped.push({ vm: name, reason: bad });
      return [];
    }
    const entry = sshEntryOf(ctx, name, p, cli, proxyCommandText);
    if (entry === undefined) return [];
    const problem = sshHostEntryProblem(entry);
    if (problem === undefined) return [entry];
    skipped.push({ vm: name, reason: problem });
    return [];
  });
  const includeFile = join(sshDir(ctx.paths), 'config');
  if (entries.length === 0 && !existsSync(includeFile))
    return { hosts: [], skipped, userConfigChanged: false };
  const home = ctx.env.HOME;
  const userConfigChanged = installSshConfig(includeFile, entries, home);
  return { hosts: entries.map((e) => e.alias), skipped, userConfigChanged };
}

/** The Host block a VM would get, unchecked; undefined when it has no recorded user or no way in. */
function sshEntryOf(
  ctx: VmContext,
  name: string,
  p: ParsedDomain,
  cli: string | undefined,
  proxyCommandText: (argv: string[]) => string,
): SshHostEntry | undefined {
  if (!p.roost?.sshUser) return undefined;
  const known = knownHostsFile(ctx.paths);
  const t = sshTargetOf(name, p);
  if (t) return { ...t, knownHostsFile: known };
  // Bridged: the address comes from a lookup when ssh connects, through roost itself.
  if (cli === undefined || !p.nics.some((n) => n.type !== 'user')) return undefined;
  const proxy = [process.execPath, cli, '--connect', ctx.uri, 'ssh', name, '--proxy'];
  return {
    alias: `${name}.roost`,
    host: `${name}.roost`,
    port: 22,
    user: p.roost.sshUser,
    identityFile: p.roost.sshKeyPath,
    knownHostsFile: known,
    proxyCommand: proxyCommandText(proxy),
  };
}
