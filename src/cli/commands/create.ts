// roost create NAME: a new VM from a disk image, an installer ISO or a kernel, with passt port forwards and
// shared folders.
import { Option, type Command, type OptionValues } from '@commander-js/extra-typings';
import type { PullProgress } from '../../images/types.js';
import type { CreatePhase, CreateRequest, CreateResult } from '../../vm/create.js';
import type { VmContext } from '../../vm/context.js';
import type { WaitFor } from '../../vm/wait.js';
import { runAction, type CommandEnv } from '../action.js';
import type { TemplateOptions } from './template.js';
import { stderrStream } from '../stdio.js';

const collect = (v: string, acc: string[]) => [...acc, v];

/** The sources to boot, and the VM's size. */
function withBootOptions<A extends unknown[], O extends OptionValues>(c: Command<A, O>) {
  return c
    .option(
      '--image <ref|path>',
      'a catalogue image (roost image ls; downloaded once) or a qcow2/raw file; never modified: the VM gets a ' +
        'copy-on-write overlay',
    )
    .option('--iso <path>', 'installer ISO, attached as a CD-ROM over a new empty disk')
    .option('--kernel <path>', 'boot this kernel directly')
    .option('--initrd <path>', 'initrd for --kernel')
    .option('--cmdline <args>', 'kernel command line for --kernel')
    .option('--memory <size>', 'memory, e.g. 512M, 2G (a plain number is MiB)', '2G')
    .option('--cpus <n>', 'virtual CPUs', '2')
    .option(
      '--disk <size>',
      'disk size, e.g. 20G (default: the image size, at least 20G; none for --kernel alone)',
    )
    .addOption(
      new Option('--accel <mode>', 'acceleration')
        .choices(['auto', 'kvm', 'tcg'] as const)
        .default('auto' as const),
    )
    .addOption(
      new Option(
        '--firmware <fw>',
        'firmware (default: uefi for images and ISOs, bios for --kernel)',
      ).choices(['uefi', 'bios'] as const),
    );
}

/** Port forwards, NICs and what the guest reaches on the host. */
function withNetworkOptions<A extends unknown[], O extends OptionValues>(c: Command<A, O>) {
  return c
    .addOption(
      new Option(
        '-p, --port <spec>',
        'forward [ADDR:]HOST:GUEST[/tcp|udp] (repeatable; ADDR defaults to 127.0.0.1)',
      )
        .argParser(collect)
        .default([] as string[], 'none'),
    )
    .addOption(
      new Option(
        '--network <mode>',
        "'user' (passt) or 'bridge=NAME'; repeat for a NIC of each (the first gets the default route)",
      )
        .argParser(collect)
        .default([] as string[], 'user'),
    )
    .addOption(
      new Option(
        '--host-access <mode>',
        "what the guest reaches on this host: 'loopback' (a passt guest reaches services on the host's " +
          "127.0.0.1 at its gateway address; libvirt gives passt no other mode) or 'none' (bridged NICs only)",
      )
        .choices(['loopback', 'none'] as const)
        .default('loopback' as const),
    );
}

/** Shared folders. */
function withMountOptions<A extends unknown[], O extends OptionValues>(c: Command<A, O>) {
  return c
    .addOption(
      new Option(
        '--mount <spec>',
        'share HOSTDIR[:GUESTDIR][:ro] with the guest (repeatable; GUESTDIR defaults to HOSTDIR; a cloud image ' +
          'mounts it at every boot)',
      )
        .argParser(collect)
        .default([] as string[], 'none'),
    )
    .addOption(
      new Option(
        '--mount-type <type>',
        'shared folder type (default: virtiofs where the host can run it, else 9p)',
      ).choices(['virtiofs', '9p'] as const),
    )
    .option('--mount-home', 'allow --mount of your whole home directory (add :ro to keep it read-only)');
}

/** The cloud-init seed, starting, waiting, and the output. */
function withGuestOptions<A extends unknown[], O extends OptionValues>(c: Command<A, O>) {
  return c
    .option('--user <name>', "login user the cloud-init seed creates (default: the image's, e.g. debian)")
    .option('--ssh-key <path>', 'ssh key to authorise (default: ~/.ssh/id_*.pub, else a key roost generates)')
    .option('--cloud-init <file>', "cloud-config YAML merged into the seed's user-data")
    .option('--no-cloud-init', 'attach no cloud-init seed to an --image VM')
    .option(
      '--auto-ports',
      'forward every port the guest listens on to the same port of 127.0.0.1 (over ssh), while it runs',
    )
    .option(
      '--template <name>',
      'start from a template (roost template ls); the other options override its fields',
    )
    .option('--no-start', 'define the VM without starting it')
    .option(
      '--wait <what>',
      "after starting, wait for 'ssh' (a login works and cloud-init is done), 'port:N' (guest port N answers " +
        "through its forward) or 'none' (default: ssh for an --image VM with a cloud-init seed, else none)",
    )
    .option('--wait-timeout <seconds>', 'give up waiting after this long', '600')
    .option('--json', "print the result as JSON (and a download's progress as JSON lines on stderr)");
}

const EXAMPLES = `
Examples:
  roost create web --image debian-12 --port 8080:80            # then: roost ssh web
  roost create web --image ~/images/debian-12.qcow2 --port 8080:80 --port 2222:22
  roost create tiny --kernel ./vmlinuz --initrd ./initrd.img --cmdline console=ttyS0 --memory 256M --port 18080:80 --wait port:80
  roost create installer --iso ./debian-12-netinst.iso --disk 30G
  roost create lab --image debian-12 --network user --network bridge=virbr0 --port 8080:80   # both
  roost create dev --image ubuntu-24.04 --mount ~/src --mount ~/data:/data:ro   # shared folders (roost mount ls dev)
  roost create web --template debian-12 --memory 4G             # a template (roost template ls), options win
Nothing is created when an option is wrong; a failure part way, or Ctrl-C (SIGTERM, SIGHUP), removes what was
made and says what, exiting 1 (130, 143, 129 for the signals).`;

function createCommand(program: Command) {
  const base = program
    .command('create')
    .description('create a VM (and start it) from a disk image, an ISO or a kernel')
    .argument('<name>', 'VM name: letters, digits, . _ - (up to 63)');
  return withGuestOptions(withMountOptions(withNetworkOptions(withBootOptions(base)))).addHelpText(
    'after',
    EXAMPLES,
  );
}

type CreateOptions = ReturnType<ReturnType<typeof createCommand>['opts']>;

export function define(program: Command): void {
  const command = createCommand(program);
  command.action(async (name, given, cmd) =>
    runAction(cmd, async (env) => {
      const opts = given.template ? await templateOptions(given.template, given) : given;
      return runCreate(name, opts, env);
    }),
  );
}

/** The options with a template's fields filled in where the command line left them out. */
async function templateOptions<T extends TemplateOptions>(name: string, opts: T): Promise<T> {
  const [{ withTemplate }, { roostPaths }] = await Promise.all([
    import('./template.js'),
    import('../../paths.js'),
  ]);
  return withTemplate(name, opts, roostPaths());
}

/** What the options ask of createVm (the download's progress is added by runCreate). */
function createRequest(name: string, opts: CreateOptions): CreateRequest {
  return {
    name,
    image: opts.image,
    iso: opts.iso,
    kernel: opts.kernel,
    initrd: opts.initrd,
    cmdline: opts.cmdline,
    memory: opts.memory,
    cpus: opts.cpus,
    disk: opts.disk,
    ports: opts.port,
    network: opts.network,
    accel: opts.accel,
    firmware: opts.firmware,
    sshUser: opts.user,
    sshKey: opts.sshKey,
    cloudInit: typeof opts.cloudInit === 'string' ? opts.cloudInit : undefined,
    noCloudInit: opts.cloudInit === false,
    autoPorts: opts.autoPorts,
    hostAccess: opts.hostAccess,
    mounts: opts.mount,
    mountType: opts.mountType,
    mountHome: opts.mountHome,
    start: opts.start,
  };
}

const PHASE_LABELS: Record<CreatePhase, string> = {
  image: 'image (downloaded and verified on first use)',
  disk: 'creating disk',
  seed: 'writing cloud-init seed',
  defining: 'defining VM',
  starting: 'starting VM',
};

async function runCreate(name: string, opts: CreateOptions, env: CommandEnv): Promise<void> {
  const { out, context, interruptible } = env;
  // The connection opens while the modules load (opening one changes nothing); its failure, if any, is
  // reported where it is awaited, below.
  context().catch(() => {});
  // One wave of imports, not one after the other (each wave waits for the last).
  const [{ createVm, looksLikeCatalogName }, { createPhaseReporter }, { checkWait }, { parseTimeout }] =
    await Promise.all([
      import('../../vm/create.js'),
      import('../../term/phases.js'),
      import('../../vm/wait.js'),
      import('../../vm/input.js'),
    ]);
  const seeded = !!opts.image && opts.cloudInit !== false;
  // A cloud image is for logging in to: by default `create` returns when that works.
  const wait = checkWait(opts.wait ?? (seeded ? 'ssh' : 'none'), opts.port);
  const waitTimeoutS = parseTimeout(opts.waitTimeout);
  const progress = createPhaseReporter(stderrStream(), !out.json && !out.quiet);
  // From here a Ctrl-C (SIGTERM, SIGHUP) stops the create at its next step and undoes what it made.
  const interruption = interruptible();
  try {
    const ctx = await context();
    // On another host the forwards listen there: the wait reaches them through ssh (vm/remote-tunnel.ts).
    const { isRemote } = await import('../../vm/context.js');
    const req = {
      ...createRequest(name, opts),
      // As `image pull --json`: a first create's download reports JSON lines on stderr for machines.
      onPullProgress: await pullProgressFor(opts.image, looksLikeCatalogName, out, isRemote(ctx)),
    };
    const r = await createVm(ctx, req, (p) => progress.phase(PHASE_LABELS[p]), interruption);
    const waitedMs = await waitAfterCreate(ctx, r, wait, waitTimeoutS, {
      progress,
      signal: interruption.signal,
    });
    progress.done(wait.kind === 'ssh' && waitedMs !== undefined ? '✓ ssh ready' : undefined);
    await reportCreated(ctx, r, opts, env, waitedMs);
  } catch (e) {
    progress.fail();
    throw e;
  }
}

type PhaseReporter = ReturnType<typeof import('../../term/phases.js').createPhaseReporter>;

/** `--wait` after a started create: how long it waited, or undefined when there was nothing to wait for. */
async function waitAfterCreate(
  ctx: VmContext,
  r: CreateResult,
  wait: WaitFor,
  waitTimeoutS: number,
  how: { progress: PhaseReporter; signal: AbortSignal },
): Promise<number | undefined> {
  if (!r.started || wait.kind === 'none') return undefined;
  const [{ waitUntilReady }, { reportWaitPhases }] = await Promise.all([
    import('../../vm/wait.js'),
    import('../wait-phases.js'),
  ]);
  return untilInterrupted(
    waitUntilReady(ctx, r, wait, waitTimeoutS, reportWaitPhases(how.progress, wait, 'first')),
    how.signal,
    r.name,
  );
}

/** After the create (and its wait): the auto-ports watcher, the warnings and the result. */
async function reportCreated(
  ctx: VmContext,
  r: CreateResult,
  opts: CreateOptions,
  { out }: CommandEnv,
  waitedMs: number | undefined,
): Promise<void> {
  if (r.started && opts.autoPorts) {
    (await import('../../vm/auto-ports.js')).ensureAutoPortsWatcher(ctx, r.name);
    out.info(`auto-ports: ports ${r.name} listens on appear on 127.0.0.1 (roost port ls ${r.name})`);
  }
  if (r.accel.accel === 'tcg' && opts.accel === 'auto') out.warn(r.accel.reason);
  for (const w of r.warnings) out.warn(w);
  const [{ formatPortForward }, { createdVm }] = await Promise.all([
    import('../../net/port-spec.js'),
    import('../../vm/wire.js'),
  ]);
  const { isRemote } = await import('../../vm/context.js');
  out.result(createdVm(r, waitedMs ?? null), () => createdText(r, formatPortForward, isRemote(ctx)));
}

/** What a person reads after a create: the state, the forwards, the shared folders, how to log in. */
function createdText(
  r: CreateResult,
  formatPortForward: (p: CreateResult['ports'][number]) => string,
  remote: boolean,
): string {
  return [
    `${r.name} ${r.started ? 'is running' : 'is defined (not started: roost start ' + r.name + ')'}`,
    ...r.ports.map(
      (p) => `  ${formatPortForward(p)}${r.addedPorts.includes(p) ? '  (ssh, added by roost)' : ''}`,
    ),
    ...r.mounts.map(
      (m) => `  ${m.hostDir} → ${m.guestDir} in the guest (${m.mode}, ${m.type}, tag ${m.tag})`,
    ),
    ...(r.mounts.some((m) => !m.bySeed)
      ? [
          'mount the shared folders in the guest (no cloud-init seed to do it):',
          ...r.mounts.map((m) => `  ${m.guestCommand}`),
        ]
      : []),
    ...(r.sshUser && !remote
      ? [`ssh: roost ssh ${r.name}   or   ssh ${r.name}.roost   (user ${r.sshUser})`]
      : []),
    // No NAME.roost entry for a VM of another host: roost ssh jumps through that host (docs/hosts.md).
    ...(r.sshUser && remote
      ? [`ssh: roost ssh ${r.name} with the same -H/--connect   (user ${r.sshUser})`]
      : []),
    ...(remote && r.ports.length > 0
      ? ['the forwards listen on the remote host: reach one from here with roost port ls ' + r.name]
      : []),
  ].join('\n');
}

/**
 * Download progress, for an --image that createVm will resolve from the catalogue (the same test it applies):
 * the bar's module is loaded only then.
 */
async function pullProgressFor(
  image: string | undefined,
  isCatalogName: (ref: string) => boolean,
  out: { json: boolean; quiet: boolean },
  remote = false,
): Promise<PullProgress | undefined> {
  // A file: nothing to download — unless it is uploaded to a remote host (vm/remote.ts), which shows the same bar.
  if (!remote && (image === undefined || !isCatalogName(image))) return undefined;
  const { createPullProgress } = await import('../../term/progress.js');
  return createPullProgress(out.json ? 'json' : out.quiet ? 'none' : 'auto', stderrStream());
}

/**
 * The wait after a create, given up on an interruption. The VM is made by then (the create's last step that
 * can be undone is behind it): it is kept, and the message says so.
 */
async function untilInterrupted<T>(waiting: Promise<T>, signal: AbortSignal, name: string): Promise<T> {
  const { InterruptedError } = await import('../../vm/steps.js');
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new InterruptedError(
          signal.reason === 'SIGTERM' || signal.reason === 'SIGHUP' ? signal.reason : 'SIGINT',
          `stopped waiting (${String(signal.reason)}): ${name} was created and is running; remove it with: roost rm --force ${name}`,
        ),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    waiting.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
