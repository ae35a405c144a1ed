// The bridge-conf step of `roost host bridge-setup`: bridge.conf allows the bridge, either with a plain allow
// line or (per user) with an include of an ACL file only that user can read (bridge-setup.ts says why).
import { UsageError } from '../errors.js';
import { BRIDGE_CONF, parseBridgeConf } from './checks/bridge.js';
import {
  userAclFile,
  type AclFileFacts,
  type CheckedRequest,
  type HostFacts,
  type RootCommand,
  type SetupStep,
  type UserFacts,
} from './bridge-model.js';

/** How the user's ACL file is made readable by that user alone: their private group, or a POSIX ACL entry. */
function aclPermissionCommands(user: UserFacts, acl: string): RootCommand[] {
  if (user.groupShared === undefined) {
    return [{ argv: ['chown', `0:${user.gid}`, acl] }, { argv: ['chmod', '0640', acl] }];
  }
  return [
    { argv: ['chown', '0:0', acl] },
    { argv: ['chmod', '0600', acl] },
    { argv: ['setfacl', '--set', `u::rw,u:${user.uid}:r,g::-,m::r,o::-`, acl] },
  ];
}

/** What is wrong with the ACL file's owner and mode for this user (undefined: fine, or not known). */
function aclPermissionProblem(user: UserFacts, f: AclFileFacts | undefined): string | undefined {
  if (f === undefined) return undefined;
  const mode = f.mode & 0o7777;
  const acl = `the ACL file (uid ${f.uid}, gid ${f.gid}, mode ${mode.toString(8).padStart(4, '0')})`;
  if (f.uid !== 0) return `${acl} is not owned by root: its owner could allow any bridge`;
  if ((mode & 0o7137) !== 0) return `${acl} is writable or readable by more than root and ${user.name}`;
  if (user.groupShared === undefined) {
    if ((mode & 0o040) !== 0 && f.gid !== user.gid)
      return `${acl} is readable by group ${f.gid}, not ${user.name}'s`;
    return undefined;
  }
  // With a POSIX ACL the group bits show its mask; the owning group must then be root's.
  if ((mode & 0o040) !== 0 && f.gid !== 0)
    return `${acl} is readable by group ${f.gid}, which ${user.name} shares with others (${user.groupShared})`;
  return undefined;
}

/** What one part of the bridge-conf step found missing, and the commands that add it. */
interface Findings {
  commands: RootCommand[];
  problems: string[];
  /** Why roost will not write the user's ACL file itself. */
  refused?: string;
}

/** bridge.conf: a plain allow line, or (per user) an include of a file only that user can read. */
export function bridgeConfStep(req: CheckedRequest, facts: HostFacts): SetupStep {
  const { bridge, user } = req;
  const missing = facts.bridgeConf === null;
  const found =
    user === undefined ? sharedAllowFindings(bridge, facts) : userAclFindings(bridge, user, facts);
  const commands: RootCommand[] = [
    ...(missing ? [{ argv: ['install', '-d', '-m', '0755', '/etc/qemu'] }] : []),
    ...found.commands,
  ];
  const problems = [...(missing ? [`${BRIDGE_CONF} does not exist`] : []), ...found.problems];
  const unreadable = facts.bridgeConf !== null && (facts.bridgeConf.mode & 0o004) === 0;
  if (missing || unreadable || commands.length > 0) {
    if (unreadable) problems.push('it is not world-readable');
    commands.push({ argv: ['chmod', '0644', BRIDGE_CONF] });
  }
  const refused = found.refused;
  return {
    id: 'bridge-conf',
    title: 'qemu-bridge-helper ACL',
    done: problems.length === 0,
    detail:
      problems.length === 0
        ? user === undefined
          ? `${BRIDGE_CONF} allows ${bridge}`
          : `${BRIDGE_CONF} includes ${userAclFile(user)}, which allows ${bridge}`
        : problems.join('; '),
    commands: problems.length === 0 || refused ? [] : commands,
    ...(refused && problems.length > 0 ? { refused } : {}),
  };
}

/** Shared bridge: bridge.conf needs `allow BRIDGE` (or `allow all`). */
function sharedAllowFindings(bridge: string, facts: HostFacts): Findings {
  const conf = parseBridgeConf(facts.bridgeConf?.text ?? '');
  if (conf.allow.includes(bridge) || conf.allow.includes('all')) return { commands: [], problems: [] };
  return {
    commands: [{ argv: ['tee', '-a', BRIDGE_CONF], input: `allow ${bridge}\n` }],
    problems: [`no 'allow ${bridge}' line`],
  };
}

/** One user's bridge: bridge.conf includes the user's ACL file, which allows the bridge and only they can read. */
function userAclFindings(bridge: string, userName: string, facts: HostFacts): Findings {
  const acl = userAclFile(userName);
  const found: Findings = { commands: [], problems: [] };
  if (!parseBridgeConf(facts.bridgeConf?.text ?? '').include.includes(acl)) {
    found.commands.push({ argv: ['tee', '-a', BRIDGE_CONF], input: `include ${acl}\n` });
    found.problems.push(`${BRIDGE_CONF} does not include ${acl}`);
  }
  if (!facts.user) throw new UsageError('UNKNOWN_USER', `no user named '${userName}' on this host`);
  const file = aclFileFindings(bridge, acl, facts.user, facts);
  return {
    commands: [...found.commands, ...file.commands],
    problems: [...found.problems, ...file.problems],
    ...(file.refused === undefined ? {} : { refused: file.refused }),
  };
}

/**
 * The user's ACL file itself: written again unless it allows the bridge with a safe owner and mode. We usually
 * cannot read another user's ACL file (text null): then it is written again, which is harmless.
 */
function aclFileFindings(bridge: string, acl: string, user: UserFacts, facts: HostFacts): Findings {
  const text = facts.includes[acl];
  const unsafe = aclPermissionProblem(user, facts.userAcl);
  const allows = text !== undefined && text !== null && parseBridgeConf(text).allow.includes(bridge);
  if (allows && unsafe === undefined) return { commands: [], problems: [] };
  const problem =
    unsafe !== undefined
      ? unsafe
      : text === null
        ? `${acl} cannot be checked (not readable by you)`
        : `${acl} does not allow ${bridge}`;
  return {
    commands: [
      {
        argv: ['tee', acl],
        input: `# roost: only ${user.name} may attach VMs to ${bridge}\nallow ${bridge}\n`,
      },
      ...aclPermissionCommands(user, acl),
    ],
    problems: [problem],
    ...(user.groupShared !== undefined && facts.setfacl === false
      ? { refused: sharedGroupRefusal(bridge, user) }
      : {}),
  };
}

function sharedGroupRefusal(bridge: string, user: UserFacts): string {
  return (
    `${user.name}'s primary group is shared (${user.groupShared}): a group-readable ACL file would let ` +
    `every member attach VMs to ${bridge}; roost needs setfacl to give ${user.name} alone read access ` +
    `(Debian: apt install acl), or give ${user.name} a private group, then run this again`
  );
}
