// Hostile input through the built `roost` CLI, run as the unprivileged test user: every case is refused with
// the exit code for bad usage (2) — or 1 for a name that is merely not a VM's — and one clear line on stderr
// (no stack trace, no "INTERNAL", what the user typed shown escaped), and nothing changes: the same domains,
// volumes and roost files afterwards, and no file appears where a name or a shell command would have put one.
// No VM is booted: VMs here are defined with --no-start from a stand-in kernel.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScope, harness, roost } from '../harness/index.js';
import {
  clearGround,
  expectCleanMessage,
  hostileNames,
  inventory,
  makeGround,
  makeHostileFiles,
  type HostileFiles,
  type Inventory,
} from './battery.js';

const { user, uri } = harness();
const scope = createScope('sec-cli', user, uri);
/** Where a name or a shell command in a name would create a file, were it ever used as one. */
const marker = join('/tmp', `${scope.prefix}pwned`);
const markers = [marker, `${marker}.auto-ports.log`, `${marker}.serial.log`, '/tmp/pwned'];
const victim = join(user.home, `${scope.prefix}victim.qcow2`);

// Made as the file loads: the test tables below name these paths.
const f: HostileFiles = makeHostileFiles(scope.dir, user);
const base = join(scope.dir, 'base.qcow2');
let baseline: Inventory;
let domainsAtStart: string[];
const existing = scope.name('vm');

beforeAll(async () => {
  ({ domainsAtStart } = await makeGround(user, uri, { base, victim, existing, kernel: f.kernel }));
  baseline = await inventory(uri, user, markers);
});

// A case that was wrongly accepted may have made a VM under a name no scope covers: clearGround removes it too.
afterAll(() => clearGround(uri, scope, domainsAtStart, victim, markers));

interface Case {
  args: string[];
  /** 2: bad usage; 1: a well-formed request that failed (e.g. no such VM). */
  code: 1 | 2;
  message: RegExp;
}

async function refused(c: Case, timeoutMs = 30_000): Promise<void> {
  const r = await roost(user, c.args, { timeoutMs });
  expect(r.code, `exit ${r.code}: ${r.stderr}`).toBe(c.code);
  expect(r.stderr).toMatch(c.message);
  expectCleanMessage(r.stderr);
  expect(r.stdout).toBe('');
  expect(await inventory(uri, user, markers)).toEqual(baseline);
  expect(existsSync(victim)).toBe(true);
}

/** A VM that would be created from a stand-in kernel and never started. */
const kernelVm = (name: string, ...more: string[]) => [
  'create',
  name,
  '--kernel',
  f.kernel,
  '--memory',
  '128M',
  '--no-start',
  ...more,
];
/** One from the blank image, with a cloud-init seed (so --cloud-init, --user and --ssh-key apply). */
const imageVm = (name: string, ...more: string[]) => [
  'create',
  name,
  '--image',
  base,
  '--memory',
  '128M',
  '--no-start',
  ...more,
];
const n = () => scope.name('new');
/** A test title for hostile text: quoted, and cut short when long. */
const label = (text: string) =>
  text.length > 40
    ? `${JSON.stringify(text.slice(0, 20))}… (${text.length} characters)`
    : JSON.stringify(text);

describe('hostile VM names', () => {
  const names = hostileNames(marker);

  it.each(names)('create: %s', (_label, name) =>
    // After `--`, so that a name starting with '-' is a name and not an option.
    refused({
      args: ['create', '--kernel', f.kernel, '--memory', '128M', '--no-start', '--', name],
      code: 2,
      message: /invalid VM name '.*': use 1–63 letters/,
    }),
  );

  it('create: an option-looking name is taken as an option, not a name', () =>
    refused({
      args: ['create', '-rf', '--kernel', f.kernel, '--no-start'],
      code: 2,
      message: /unknown option '-rf'/,
    }));

  it('create: an over-long name is shown cut short', async () => {
    const r = await roost(user, ['create', '--kernel', f.kernel, '--no-start', '--', 'a'.repeat(300)]);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
  });

  it('create: a newline or an escape in a name is shown escaped', async () => {
    const r = await roost(user, ['create', '--kernel', f.kernel, '--no-start', '--', 'a\u001b[31mred\nb']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`invalid VM name 'a\\x1b[31mred\\nb'`);
  });

  const lookups: [string, (name: string) => string[]][] = [
    ['info', (v) => ['info', '--', v]],
    ['start', (v) => ['start', '--', v]],
    ['stop --force', (v) => ['stop', '--force', '--', v]],
    ['rm --force', (v) => ['rm', '--force', '--', v]],
    ['edit --cpus 1', (v) => ['edit', '--cpus', '1', '--', v]],
    ['logs', (v) => ['logs', '--', v]],
    ['ip', (v) => ['ip', '--', v]],
    ['port ls', (v) => ['port', 'ls', '--', v]],
    ['port add', (v) => ['port', 'add', '--', v, '18123:80']],
    ['port watch --detach', (v) => ['port', 'watch', '--detach', '--', v]],
  ];
  // A name that cannot be a VM's: refused as bad usage before it reaches a file name or a message.
  const notNames = names.filter(([label]) =>
    [
      'empty',
      'a parent path',
      'a deep parent path',
      'a slash',
      'a newline',
      'a terminal escape',
      'an RTL override',
      '300 characters',
    ].includes(label),
  );
  for (const [verb, args] of lookups) {
    it.each(notNames)(`${verb}: %s`, (_label, name) =>
      refused({ args: args(name), code: 2, message: /invalid VM name '.*'/ }),
    );
    it(`${verb}: a name that could be a VM's but is not`, () =>
      refused({ args: args(`${scope.prefix}nope $(id) <&'">`), code: 1, message: /no VM named '.*' on / }));
  }
});

describe('hostile paths', () => {
  const paths = () =>
    [
      ['a directory', f.dir, /is not a regular file \(a directory\)/],
      ['/dev/zero', f.zero, /is not a regular file \(a character device\)/],
      ['a FIFO', f.fifo, /is not a regular file \(a FIFO\)/],
      ['a path that does not exist', f.missing, /does not exist/],
      ['a path with a newline', f.newline, /invalid .* path '.*\\n.*'/],
    ] as const;

  for (const [option, what] of [
    ['--kernel', 'kernel'],
    ['--iso', 'ISO image'],
    ['--image', 'image'],
  ] as const) {
    it.each(paths().map(([label, path, message]) => [label, path, message]))(
      `${option}: %s`,
      (_label, path, message) =>
        // A FIFO must be refused, not opened (opening one blocks): 20 s and it counts as a hang.
        refused(
          {
            args: ['create', n(), option, path as string, '--memory', '128M', '--no-start'],
            code: 2,
            message: new RegExp(`${what}|${(message as RegExp).source}`),
          },
          20_000,
        ),
      25_000,
    );
  }

  it.each(paths().map(([label, path]) => [label, path]))('--initrd: %s', (_label, path) =>
    refused({ args: kernelVm(n(), '--initrd', path as string), code: 2, message: /initrd/ }, 20_000),
  );
  it.each(paths().map(([label, path]) => [label, path]))('--ssh-key: %s', (_label, path) =>
    refused({ args: imageVm(n(), '--ssh-key', path as string), code: 2, message: /ssh key/ }, 20_000),
  );
  it.each(paths().map(([label, path]) => [label, path]))('--cloud-init: %s', (_label, path) =>
    refused({ args: imageVm(n(), '--cloud-init', path as string), code: 2, message: /cloud-init/ }, 20_000),
  );
});

describe('hostile sizes and numbers', () => {
  it.each([
    ['--memory', '-1', /invalid memory size '-1'/],
    ['--memory', '0', /invalid memory size '0'/],
    ['--memory', '1e9', /invalid memory size '1e9'/],
    ['--memory', 'NaN', /invalid memory size 'NaN'/],
    ['--memory', 'Infinity', /invalid memory size 'Infinity'/],
    ['--memory', '99999999999G', /invalid memory size '99999999999G'/],
    ['--memory', '100T', /memory '100T' is too large/],
    ['--memory', '0x100', /invalid memory size '0x100'/],
    ['--cpus', '0', /invalid CPU count '0'/],
    ['--cpus', '999', /invalid CPU count '999'/],
    ['--cpus', '1.5', /invalid CPU count '1.5'/],
    ['--cpus', '-2', /invalid CPU count '-2'/],
    ['--cpus', '1e1', /invalid CPU count '1e1'/],
    ['--disk', '0', /invalid disk size '0'/],
    ['--disk', '-5G', /invalid disk size '-5G'/],
    ['--disk', '1Z', /invalid disk size '1Z'/],
    ['--disk', '100T', /disk '100T' is too large/],
    ['--wait-timeout', '-1', /invalid timeout '-1'/],
    ['--wait-timeout', '1e9', /invalid timeout '1e9'/],
  ] as const)('%s %s', (option, value, message) =>
    refused({ args: [...kernelVm(n()), option, value], code: 2, message }),
  );

  it('edit --memory 100T on an existing VM', () =>
    refused({ args: ['edit', existing, '--memory', '100T'], code: 2, message: /too large/ }));
  it('edit --cpus 0 on an existing VM', () =>
    refused({ args: ['edit', existing, '--cpus', '0'], code: 2, message: /invalid CPU count '0'/ }));
  it('stop --timeout 0', () =>
    refused({ args: ['stop', existing, '--timeout', '0'], code: 2, message: /invalid timeout '0'/ }));
});

describe('hostile port specs', () => {
  const specs: [string, RegExp][] = [
    ['0:80', /port 0 is outside 1–65535/],
    ['65536:80', /port 65536 is outside 1–65535/],
    ['18124:0', /port 0 is outside 1–65535/],
    ['a:b', /'a' is not a port number/],
    ['18124:80/sctp', /protocol 'sctp' is neither tcp nor udp/],
    ['1.2.3.4.5:18124:22', /'1\.2\.3\.4\.5' is not an IPv4 address/],
    ['[::1]18124:22', /an IPv6 address must be written/],
    ['[1.2.3.4]:18124:22', /'1\.2\.3\.4' is not an IPv6 address/],
    ['[::1]:80:22', /ports below \d+ need root/],
    ['18124:80:22:1', /expected HOST:GUEST/],
    ['20000-29999:20000-29999', /spans 10000 ports: at most 1024/],
    ['18124-18000:80-1', /ends before it starts/],
    ['18124\n:80', /invalid port forward '18124\\u\{a\}:80'/],
    [`18124:80;touch ${marker}`, /invalid port forward/],
    ['x'.repeat(5000), /at most 100 characters/],
  ];
  const labelled = specs.map(([spec, message]) => [label(spec), spec, message] as const);
  it.each(labelled)('create --port %s', (_label, spec, message) =>
    refused({ args: [...kernelVm(n()), '--port', spec], code: 2, message }),
  );
  it.each(labelled)('port add %s', (_label, spec, message) =>
    refused({ args: ['port', 'add', existing, spec], code: 2, message }),
  );

  it('the same forward twice', () =>
    refused({
      args: [...kernelVm(n()), '--port', '18124:80', '--port', '18124:80'],
      code: 2,
      message: /port forwards .* overlap/,
    }));
  it('10,000 forwards in one create', () =>
    refused({
      args: [
        ...kernelVm(n()),
        ...Array.from({ length: 10_000 }, (_, i) => ['--port', `${20_000 + i}:${i + 1}`]).flat(),
      ],
      code: 2,
      message: /10000 port forwards given: at most 64/,
    }));
  it('10,000 forwards in one port add', () =>
    refused({
      args: ['port', 'add', existing, ...Array.from({ length: 10_000 }, (_, i) => `${20_000 + i}:${i + 1}`)],
      code: 2,
      message: /10000 port forwards given: at most 64/,
    }));
  it('removing a spec that is not one', () =>
    refused({ args: ['port', 'rm', existing, 'a\nb'], code: 2, message: /invalid port/ }));
});

describe('hostile cloud-init YAML', () => {
  it.each([
    ['malformed', () => f.yamlMalformed, /malformed\.yaml:\d+:\d+: /],
    ['a billion-laughs alias bomb', () => f.yamlBomb, /bomb\.yaml: .*alias/i],
    ['10 MB', () => f.yamlHuge, /is \d+ bytes: at most 1048576/],
    ['a list, not a mapping', () => f.yamlList, /must be a YAML mapping/],
    ['a shell script', () => f.yamlScript, /only #cloud-config YAML/],
  ] as const)('%s', (_label, file, message) =>
    refused({ args: imageVm(n(), '--cloud-init', file()), code: 2, message }),
  );
});

describe('hostile text options', () => {
  it.each(
    (
      [
        ['bob\nHost *\n  ProxyCommand touch /tmp/pwned', /invalid login name 'bob\\nHost \*/],
        ['root;id', /invalid login name 'root;id'/],
        ['-oProxyCommand=x', /invalid login name/],
        ['x'.repeat(300), /invalid login name/],
      ] as const
    ).map(([value, message]) => [label(value), value, message] as const),
  )('--user %s', (_label, value, message) =>
    refused({ args: imageVm(n(), '--user', value), code: 2, message }),
  );
  it('--cmdline with a newline', () =>
    refused({
      args: kernelVm(n(), '--cmdline', 'console=ttyS0\ninit=/bin/sh'),
      code: 2,
      message: /invalid --cmdline/,
    }));
  it.each(['bridge=../../x', 'bridge=a b', `bridge=$(touch ${marker})`, 'bridge=', 'user=x'])(
    '--network %j',
    (value) => refused({ args: kernelVm(n(), '--network', value), code: 2, message: /invalid --network/ }),
  );
  it('--accel with a value that is not a choice', () =>
    refused({ args: kernelVm(n(), '--accel', 'kvm;id'), code: 2, message: /Allowed choices are/ }));
  it('--wait with a port that is not one', () =>
    refused({ args: kernelVm(n(), '--wait', 'port:99999'), code: 2, message: /--wait/ }));
});

describe('hostile image names (owned by the image-store fix, issue 15 finding 4)', () => {
  it.each([
    ['a traversal to a file in the home directory', `../../../${scope.prefix}victim`],
    ['an absolute path', victim.replace(/\.qcow2$/, '')],
    ['a newline', 'debian-12\nx'],
  ])('image rm: %s', (_label, ref) =>
    refused({ args: ['image', 'rm', '--force', '--', ref], code: 2, message: /image|invalid/ }),
  );
});

describe('after the battery', () => {
  it('left the hostile files as they were (the FIFO was never opened for good)', () => {
    expect(execFileSync('stat', ['-c', '%F', f.fifo]).toString().trim()).toBe('fifo');
  });
});

describe('hostile --mount specs', () => {
  const specs: [string, string, RegExp][] = [
    ['a device', f.zero, /not a directory/],
    ['a FIFO', f.fifo, /not a directory/],
    ['a path that does not exist', f.missing, /does not exist/],
    ['a path with a newline', f.newline, /invalid --mount '.*\\n.*'/],
    ["the host's root", '/:/host', /root directory/],
    ['the whole home', `${user.home}:/h`, /whole home directory .*--mount-home/],
    ["the guest's /etc", `${f.dir}:/etc`, /hide the guest's own \/etc/],
    ['a guest path that climbs', `${f.dir}:/srv/../etc`, /not a normalised path/],
    [
      'shell metacharacters in the guest path',
      `${f.dir}:/x;touch ${marker}`,
      /has a character roost does not put/,
    ],
    [
      'a command substitution in the guest path',
      `${f.dir}:/$(touch ${marker})`,
      /has a character roost does not put/,
    ],
    ['too many colons', `${f.dir}:/a:/b`, /HOSTDIR\[:GUESTDIR\]\[:ro\]/],
  ];
  const labelled = specs.map(([what, spec, message]) => [what, spec, message] as const);
  it.each(labelled)('create --mount: %s', (_what, spec, message) =>
    refused({ args: [...kernelVm(n()), '--mount', spec], code: 2, message }),
  );
  it.each(labelled)('mount add: %s', (_what, spec, message) =>
    refused({ args: ['mount', 'add', existing, spec], code: 2, message }),
  );
  it('mount rm of a folder the VM does not have', () =>
    refused({
      args: ['mount', 'rm', existing, `/x;touch ${marker}`],
      code: 2,
      message: /has no shared folder/,
    }));
});
