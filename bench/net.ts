// Networking benchmarks (issue 5, "Performance"), all on ONE boot of the Debian test guest (systemd, cloud-init,
// sshd, qemu-guest-agent; about two minutes under TCG), made with `roost create --image` against a private session
// daemon of the unprivileged test user, as bench/run.ts does:
//
// - Throughput: the guest has two NICs into the same kernel — the passt NIC roost made (with a `<portForward>`
//   127.0.0.1:P → guest port 5201) and a QEMU slirp NIC added with `<qemu:commandline>` (`-netdev user,hostfwd=…`:
//   libvirt only knows `<portForward>` for passt). One small Python server in the guest on port 5201 answers both;
//   the host writes N MiB into it (host → guest) and reads N MiB from it (guest → host) through each forward,
//   alternating which goes first. MB/s = 10^6 B/s, median of the rounds, ratio passt ÷ slirp.
// - `roost ip NAME --json`: the built CLI, as the test user, start to exit, against that running guest. A passt NIC
//   never asks the agent (roost reports its forwarded endpoints), so the guest gets a third NIC that the lookup
//   chain does walk: a UDP-socket NIC (frames go to 127.0.0.1 only) with a static address that the guest agent
//   reports. Timed interleaved with it, to show where the time goes: `node -e 0` and `roost --version`; and in this
//   process, the same lookup (openContext + requireAddresses) and the agent command alone.
// - auto-ports: `roost port watch NAME` runs (what `create --auto-ports` starts); a listener is started in the guest
//   over ssh and prints LISTENING after listen(); the time runs from that line reaching the host to the first
//   connect + echo through 127.0.0.1:SAME-PORT that succeeds. Both ends are timed on the host's clock (the guest's
//   is not comparable). The listener then exits, and the time until the host port refuses is shown too.
//
// The private daemon's runtime dir must stay short: Debian 12's passt cuts its --socket path after 98 characters
// (see benchUser), which is what once left a passt guest on a private daemon without a DHCP lease.
//
// Usage: tsx bench/net.ts [--rounds 5] [--mib 64]   (prints a Markdown section to stdout; progress goes to stderr)
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { QEMU_XMLNS as QEMU_NS } from '../src/domain-xml/quick-cpu-probe.js';
import { connect } from '../src/index.js';
import { roostPaths } from '../src/paths.js';
import { readAutoPorts } from '../src/vm/auto-ports.js';
import { openContext } from '../src/vm/context.js';
import { requireAddresses } from '../src/vm/ip.js';
import { CLI, roost } from '../test/harness/cli.js';
import { startSessionDaemon, stopSessionDaemon } from '../test/harness/daemon.js';
import { debianGuest } from '../test/harness/fixtures.js';
import { freePort } from '../test/harness/net.js';
import { processesOf, waitUntil } from '../test/harness/processes.js';
import { run, spawnOptionsFor, userEnv } from '../test/harness/run.js';
import { ensureTestUser, type TestUser } from '../test/harness/test-user.js';
import { option } from './options.js';

const ROUNDS = Number(option('rounds', '5'));
const MIB = Number(option('mib', '64'));
const IP_RUNS = 20;
const LISTENS = 5;
const NAME = 'bench-net-deb';
/** The guest's bulk-transfer server, behind both forwards. */
const GUEST_PORT = 5201;
const GUEST_SCRIPT = '/tmp/roost-bench-net.py';
const SLIRP_MAC = '52:54:00:be:ec:01';
/** slirp's default guest address: where its hostfwd delivers. */
const SLIRP_GUEST_IP = '10.0.2.15';
const SOCKET_NIC_MAC = '52:54:00:be:ec:02';
/** TEST-NET-2: routed nowhere; the agent reports it, nothing sends to it. */
const SOCKET_NIC_IP = '198.51.100.2';
/** Debian 12's passt (0.0~git20230309) silently cuts its --socket path to this many characters. */
const PASST_SOCKET_MAX = 98;
const INACTIVE_XML = 2;
/**
 * The slirp NIC's slot on the q35 root bus. QEMU sees `<qemu:commandline>` devices before libvirt's, so without an
 * address it would take slot 1, which libvirt has given the video card; libvirt leaves slot 0x10 alone.
 */
const SLIRP_SLOT = 0x10;
const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(MiB, 0x5a);

const log = (m: string) => process.stderr.write(`bench net: ${m}\n`);
const t0 = performance.now();

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---- the test user's private daemon ---------------------------------------------------------------------

/**
 * The test user with a private home (its own daemon, domains, roost state, ssh key) and a private runtime dir
 * under the real one. The runtime dir is kept short on purpose: libvirt puts passt's socket under it, and a path
 * longer than PASST_SOCKET_MAX is cut by passt, so QEMU dials a socket nobody listens on and the guest's NIC never
 * gets a frame through (no DHCP lease) — while passt's forwards still listen and look healthy.
 */
function benchUser(real: TestUser): TestUser {
  return {
    ...real,
    home: join(real.home, '.cache', 'roost-bench-net'),
    runtimeDir: join(real.runtimeDir, 'roost-bench-net'),
  };
}

function makeUserDirs(user: TestUser): void {
  removeUserDirs(user);
  // Every level the daemon or roost writes under must be the user's (mkdir as root would make them root's).
  for (const d of [
    user.home,
    user.runtimeDir,
    join(user.home, '.cache'),
    join(user.home, '.config'),
    join(user.home, '.local'),
    join(user.home, '.local', 'share'),
  ]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) chownSync(d, user.uid, user.gid);
  }
}

function removeUserDirs(user: TestUser): void {
  rmSync(user.home, { recursive: true, force: true });
  rmSync(user.runtimeDir, { recursive: true, force: true });
}

/** Fails before anything boots when passt's socket path (libvirt shortens the name to 20) would be cut. */
function checkPasstSocketPath(user: TestUser): void {
  const path = join(
    user.runtimeDir,
    'libvirt',
    'qemu',
    'run',
    'passt',
    `99-${NAME.slice(0, 20)}-net0.socket`,
  );
  if (path.length > PASST_SOCKET_MAX)
    throw new Error(
      `passt socket path ${path} has ${path.length} characters; passt cuts it at ${PASST_SOCKET_MAX}: use a shorter runtime dir`,
    );
}

// ---- roost, run as the test user ------------------------------------------------------------------------

async function roostOk(
  user: TestUser,
  argv: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<string> {
  const r = await roost(user, argv, { timeoutMs: opts.timeoutMs ?? 120_000, input: opts.input });
  if (r.code !== 0) throw new Error(`roost ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Wall time of one program run as the user, start to exit, with its output. */
function timedRun(
  user: TestUser,
  cmd: string,
  argv: string[],
): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const start = performance.now();
    const child = spawn(cmd, argv, { ...spawnOptionsFor(user), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout, stderr }));
  });
}

/** A long-running program of the user's, in its own process group so that stop() ends it and its children. */
interface Background {
  child: ChildProcess;
  /** performance.now() when a stdout line equal to `line` arrived; rejects if the program ends first. */
  ready: Promise<number>;
  exited: Promise<void>;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => void;
}

function startBackground(user: TestUser, argv: string[], line?: string): Background {
  const child = spawn(process.execPath, argv, {
    ...spawnOptionsFor(user),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const ready = new Promise<number>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (b: Buffer) => {
      const at = performance.now();
      out += b.toString();
      pending += b.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (line !== undefined && lines.some((l) => l.trim() === line)) resolve(at);
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('error', reject);
    void exited.then(() => reject(new Error(`${argv.slice(1).join(' ')} ended: ${out.trim()}`)));
  });
  ready.catch(() => {}); // callers that never wait for it must not crash the process
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  return { child, ready, exited, output: () => out, stop };
}

/** A program in the guest, started with `roost ssh` and left running (its stdout comes back over ssh). */
function startInGuest(user: TestUser, command: string[], line: string): Background {
  return startBackground(user, [CLI, 'ssh', NAME, '--', ...command], line);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// ---- the guest ------------------------------------------------------------------------------------------

/**
 * The guest's side, in Python (the Debian guest has it for cloud-init; it has no netcat). `serve PORT`: for each
 * connection, `SINK\n` then bytes → reads them all and answers the count; `SOURCE N\n` → sends N bytes and closes.
 * `listen PORT`: listens, prints LISTENING (after listen(), so the host's clock starts no earlier), echoes one
 * connection and exits.
 */
const GUEST_PY = String.raw`import socket, sys, threading

def sink(conn, f):
    buf = bytearray(1 << 20)
    total = 0
    while True:
        n = f.readinto(buf)
        if not n:
            break
        total += n
    conn.sendall(str(total).encode() + b"\n")

def source(conn, size):
    chunk = memoryview(bytes(1 << 20))
    while size > 0:
        n = min(size, len(chunk))
        conn.sendall(chunk[:n])
        size -= n

def handle(conn):
    with conn:
        f = conn.makefile("rb")
        words = f.readline().split()
        if words[:1] == [b"SINK"]:
            sink(conn, f)
        elif words[:1] == [b"SOURCE"]:
            source(conn, int(words[1]))

def serve(port):
    srv = socket.create_server(("0.0.0.0", port), backlog=16)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

def listen_once(port):
    srv = socket.create_server(("0.0.0.0", port))
    srv.settimeout(120)
    print("LISTENING", flush=True)
    conn, _ = srv.accept()
    with conn:
        conn.settimeout(30)
        conn.sendall(conn.recv(4096))

mode, port = sys.argv[1], int(sys.argv[2])
serve(port) if mode == "serve" else listen_once(port)
`;

/**
 * The two NICs the bench adds to roost's definition: slirp with a hostfwd (QEMU arguments: libvirt has
 * `<portForward>` for passt only; restrict=on keeps the guest from reaching anything through it but the forward's
 * replies) and a UDP-socket NIC for the agent to report (its frames go to 127.0.0.1:remote, where nothing listens).
 */
function withBenchNics(xml: string, slirpHostPort: number, udp: { remote: number; local: number }): string {
  // roost's domains already bind the qemu: prefix (for their CPU-probe override): use it, or bind it here.
  const bound = xml.includes(`xmlns:qemu='${QEMU_NS}'`);
  if (!/<domain\b/.test(xml) || !xml.includes('</devices>') || (!bound && xml.includes('xmlns:qemu=')))
    throw new Error(`unexpected domain XML for ${NAME}`);
  const socketNic = `  <interface type='udp'>
      <mac address='${SOCKET_NIC_MAC}'/>
      <source address='127.0.0.1' port='${udp.remote}'>
        <local address='127.0.0.1' port='${udp.local}'/>
      </source>
      <model type='virtio'/>
    </interface>
  </devices>`;
  const netdev = `user,id=benchslirp,restrict=on,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:${slirpHostPort}-${SLIRP_GUEST_IP}:${GUEST_PORT}`;
  const slirp = `  <qemu:commandline>
    <qemu:arg value='-netdev'/>
    <qemu:arg value='${netdev}'/>
    <qemu:arg value='-device'/>
    <qemu:arg value='virtio-net-pci,netdev=benchslirp,mac=${SLIRP_MAC},bus=pcie.0,addr=0x${SLIRP_SLOT.toString(16)}'/>
  </qemu:commandline>
</domain>`;
  return (bound ? xml : xml.replace(/<domain\b/, `<domain xmlns:qemu='${QEMU_NS}'`))
    .replace('</devices>', socketNic)
    .replace('</domain>', slirp);
}

async function addBenchNics(uri: string, slirpHostPort: number): Promise<void> {
  const udp = { remote: await freeUdpPort(), local: await freeUdpPort() };
  const client = await connect(uri);
  try {
    const dom = await client.lookupDomain(NAME);
    await client.defineDomain(withBenchNics(await client.getXml(dom, INACTIVE_XML), slirpHostPort, udp));
    // libvirt assigns its devices' addresses at define time: check that it left the slirp NIC's slot free.
    const slot = `bus='0x00' slot='0x${SLIRP_SLOT.toString(16).padStart(2, '0')}'`;
    if ((await client.getXml(dom, INACTIVE_XML)).includes(slot))
      throw new Error(`libvirt put a device at ${slot}, where the bench's slirp NIC goes`);
  } finally {
    await client.close();
  }
}

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Gives the two added NICs their static addresses the guest's own way: systemd-networkd would otherwise run DHCP
 * on them (the image has a catch-all DHCP .network file) and may drop addresses set behind its back. Fixed
 * constants only; the NICs are found by MAC, then the script waits until both addresses are there.
 */
function configureNicsCommand(): string {
  const networkFile = (mac: string, cidr: string, file: string) =>
    `printf '[Match]\\nMACAddress=%s\\n[Network]\\nAddress=%s\\nLinkLocalAddressing=no\\n' ${mac} ${cidr}` +
    ` | sudo tee /etc/systemd/network/${file} >/dev/null`;
  return [
    // An `if`, not `&&`: under set -e a failed test as the loop's last command would end the script.
    'nic() { for d in /sys/class/net/*; do if [ "$(cat $d/address)" = "$1" ]; then echo "${d##*/}"; fi; done; }',
    'has() { ip -4 -o addr show dev "$1" | grep -q " $2/"; }',
    'set -e',
    `s=$(nic ${SLIRP_MAC})`,
    `u=$(nic ${SOCKET_NIC_MAC})`,
    '[ -n "$s" ] && [ -n "$u" ]',
    networkFile(SLIRP_MAC, `${SLIRP_GUEST_IP}/24`, '10-roost-bench-slirp.network'),
    networkFile(SOCKET_NIC_MAC, `${SOCKET_NIC_IP}/24`, '10-roost-bench-socket.network'),
    'sudo networkctl reload',
    'sudo networkctl reconfigure "$s" "$u"',
    'i=0',
    `until has "$s" ${SLIRP_GUEST_IP} && has "$u" ${SOCKET_NIC_IP}; do i=$((i+1)); [ $i -lt 60 ]; sleep 0.5; done`,
    'echo "$s $u"',
  ].join('; ');
}

interface Forwards {
  ssh: number;
  passt: number;
  slirp: number;
}

/** Creates the Debian guest with roost, adds the bench's NICs, boots it once and waits for a login. */
async function bootGuest(real: TestUser, user: TestUser, uri: string, fwd: Forwards): Promise<number> {
  const g = debianGuest(real);
  log(`creating ${NAME} (Debian guest, 1 GiB, 2 vCPUs) with passt forwards for ssh and port ${GUEST_PORT}`);
  await roostOk(
    user,
    [
      'create',
      NAME,
      '--image',
      g.disk,
      '--user',
      g.user ?? 'debian',
      '--kernel',
      g.kernel,
      '--initrd',
      g.initrd,
      '--cmdline',
      g.cmdline,
      '--memory',
      '1G',
      '--cpus',
      '2',
      '--port',
      `127.0.0.1:${fwd.ssh}:22`,
      '--port',
      `127.0.0.1:${fwd.passt}:${GUEST_PORT}`,
      '--no-start',
      '--quiet',
    ],
    { timeoutMs: 300_000 },
  );
  await addBenchNics(uri, fwd.slirp);
  log('booting under TCG; waiting for an ssh login and cloud-init (a few minutes)');
  const started = JSON.parse(
    await roostOk(user, ['start', NAME, '--wait', 'ssh', '--wait-timeout', '900', '--json'], {
      timeoutMs: 960_000,
    }),
  ) as { waitedMs: number };
  const bootMs = started.waitedMs;
  log(`logged in after ${(bootMs / 1000).toFixed(0)} s`);
  await roostOk(user, ['ssh', NAME, '--', `cat > ${GUEST_SCRIPT}`], { input: GUEST_PY });
  const nics = (await roostOk(user, ['ssh', NAME, '--', configureNicsCommand()])).trim();
  log(`guest NICs: slirp and UDP socket are ${nics}`);
  return bootMs;
}

/** roost rm, and if the domain is somehow still there, destroy and undefine it directly. */
async function removeGuest(user: TestUser, uri: string): Promise<void> {
  await roost(user, ['rm', '--force', NAME, '--quiet'], { timeoutMs: 120_000 }).catch(() => undefined);
  const client = await connect(uri);
  try {
    const left = (await client.listDomains()).find((d) => d.name === NAME);
    if (!left) return;
    if (await client.isActive(left)) await client.destroyDomain(left);
    await client.undefineDomain(left);
  } finally {
    await client.close();
  }
}

// ---- 1. throughput --------------------------------------------------------------------------------------

/** Writes `bytes` into the guest's sink; seconds from connect until the guest confirmed them all. */
function upload(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const sock = tcpConnect({ host: '127.0.0.1', port });
    let reply = '';
    sock.setTimeout(300_000, () => sock.destroy(new Error(`upload to :${port} stalled`)));
    sock.once('error', reject);
    sock.on('data', (b: Buffer) => (reply += b.toString()));
    sock.once('end', () => {
      const got = Number(reply.trim());
      if (got !== bytes)
        reject(new Error(`guest on :${port} received ${reply.trim() || 'nothing'} of ${bytes}`));
      else resolve((performance.now() - start) / 1000);
      sock.destroy();
    });
    sock.once('connect', () => {
      sock.write('SINK\n');
      void (async () => {
        for (let left = bytes; left > 0; left -= CHUNK.length) {
          const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          if (!sock.write(part)) await new Promise((r) => sock.once('drain', r));
        }
        sock.end();
      })();
    });
  });
}

/** Reads `bytes` from the guest's source; seconds from connect to the last byte. */
function download(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const sock = tcpConnect({ host: '127.0.0.1', port });
    let got = 0;
    sock.setTimeout(300_000, () => sock.destroy(new Error(`download from :${port} stalled`)));
    sock.once('error', reject);
    sock.once('connect', () => sock.write(`SOURCE ${bytes}\n`));
    sock.on('data', (b: Buffer) => (got += b.length));
    sock.once('end', () => {
      if (got !== bytes) reject(new Error(`got ${got} of ${bytes} bytes from the guest on :${port}`));
      else resolve((performance.now() - start) / 1000);
      sock.destroy();
    });
  });
}

interface Throughput {
  passtUp: number[];
  passtDown: number[];
  slirpUp: number[];
  slirpDown: number[];
}

async function benchThroughput(fwd: Forwards): Promise<Throughput> {
  const bytes = MIB * MiB;
  const r: Throughput = { passtUp: [], passtDown: [], slirpUp: [], slirpDown: [] };
  // Warm-up: the first connection through each path pays for guest page faults and ARP, not for the forwarder.
  for (const port of [fwd.passt, fwd.slirp]) {
    await upload(port, 4 * MiB);
    await download(port, 4 * MiB);
  }
  const passt = async () => {
    r.passtUp.push(bytes / 1e6 / (await upload(fwd.passt, bytes)));
    r.passtDown.push(bytes / 1e6 / (await download(fwd.passt, bytes)));
  };
  const slirp = async () => {
    r.slirpUp.push(bytes / 1e6 / (await upload(fwd.slirp, bytes)));
    r.slirpDown.push(bytes / 1e6 / (await download(fwd.slirp, bytes)));
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const f of i % 2 === 0 ? [passt, slirp] : [slirp, passt]) await f();
    const f1 = (x: number[]) => x.at(-1)!.toFixed(1);
    log(
      `throughput round ${i + 1}/${ROUNDS}: passt ↑${f1(r.passtUp)} ↓${f1(r.passtDown)}, slirp ↑${f1(r.slirpUp)} ↓${f1(r.slirpDown)} MB/s`,
    );
  }
  return r;
}

// ---- 2. roost ip ----------------------------------------------------------------------------------------

interface IpBench {
  ipMs: number[];
  nodeMs: number[];
  /** `roost --version`: the CLI's own start-up, no connection. */
  versionMs: number[];
  /** The same lookup in this process: connect, requireAddresses, close. */
  inProcessMs: number[];
  agentMs: number[];
  sample: string;
}

interface IpJson {
  ip: string | null;
  nics: {
    mac: string | null;
    network: string;
    addresses: { ip: string; source: string }[];
    endpoints?: string[];
  }[];
}

/** One line per NIC of `roost ip --json`, for the report: what it found and where. */
function summarizeIp(stdout: string): string {
  const r = JSON.parse(stdout) as IpJson;
  return r.nics
    .map((n) => {
      const found = n.addresses.map((a) => `${a.ip} (${a.source})`);
      return `${n.network}: ${[...found, ...(n.endpoints ?? [])].join(', ') || 'nothing'}`;
    })
    .join('; ');
}

/** Each run must have found the socket NIC's address through the agent, or its time means something else. */
function checkIpAnswer(stdout: string): void {
  const r = JSON.parse(stdout) as IpJson;
  const nic = r.nics.find((n) => n.mac === SOCKET_NIC_MAC);
  const found = nic?.addresses.find((a) => a.ip === SOCKET_NIC_IP);
  if (found?.source !== 'agent')
    throw new Error(`roost ip did not get ${SOCKET_NIC_IP} from the agent: ${stdout}`);
}

async function benchIp(user: TestUser, uri: string): Promise<IpBench> {
  const ip = () => timedRun(user, process.execPath, [CLI, 'ip', NAME, '--json']);
  const node = () => timedRun(user, process.execPath, ['-e', '0']);
  const version = () => timedRun(user, process.execPath, [CLI, '--version']);
  // The agent needs a moment after the address is added to report it.
  const answersFromAgent = async () => {
    const r = await ip();
    try {
      checkIpAnswer(r.stdout);
      return r.code === 0;
    } catch {
      return false;
    }
  };
  const seen = await waitUntil(answersFromAgent, 60_000, 1000);
  if (!seen) throw new Error(`roost ip never reported ${SOCKET_NIC_IP} from the guest agent`);
  for (let i = 0; i < 3; i++) {
    await ip();
    await node();
    await version();
  }
  const r: IpBench = {
    ipMs: [],
    nodeMs: [],
    versionMs: [],
    inProcessMs: await inProcessLookups(user, uri),
    agentMs: await agentRoundTrips(uri),
    sample: '',
  };
  for (let i = 0; i < IP_RUNS; i++) {
    r.nodeMs.push((await node()).ms);
    r.versionMs.push((await version()).ms);
    const x = await ip();
    if (x.code !== 0) throw new Error(`roost ip exited ${x.code}: ${x.stderr}`);
    checkIpAnswer(x.stdout);
    r.ipMs.push(x.ms);
    r.sample = summarizeIp(x.stdout);
  }
  return r;
}

/** What `roost ip` does once Node and the CLI are loaded: openContext, requireAddresses, close. */
async function inProcessLookups(user: TestUser, uri: string): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < IP_RUNS + 3; i++) {
    const start = performance.now();
    const ctx = await openContext({ uri, env: userEnv(user) });
    try {
      const found = await requireAddresses(ctx, NAME);
      if (found.ip !== SOCKET_NIC_IP) throw new Error(`in-process lookup found ${found.ip}`);
    } finally {
      await ctx.close();
    }
    if (i >= 3) ms.push(performance.now() - start);
  }
  return ms;
}

/** The agent's own share, in-process: guest-network-get-interfaces through libvirt, no CLI start-up. */
async function agentRoundTrips(uri: string): Promise<number[]> {
  const client = await connect(uri);
  try {
    const dom = await client.lookupDomain(NAME);
    const cmd = JSON.stringify({ execute: 'guest-network-get-interfaces' });
    const ms: number[] = [];
    for (let i = 0; i < IP_RUNS + 3; i++) {
      const start = performance.now();
      await client.agentCommand(dom, cmd, 5);
      if (i >= 3) ms.push(performance.now() - start);
    }
    return ms;
  } finally {
    await client.close();
  }
}

// ---- 3. auto-ports --------------------------------------------------------------------------------------

/** True when nothing on the host accepts 127.0.0.1:port. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** One connect + echo through 127.0.0.1:port; true only when the token came back. */
function echoes(port: number, timeoutMs = 5_000): Promise<boolean> {
  return new Promise((resolve) => {
    const token = `roost-bench-net-${port}-${Math.random()}`;
    let got = '';
    const s = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => s.write(token));
    s.on('data', (b: Buffer) => {
      got += b.toString();
      if (got === token) done(true);
    });
    s.once('error', () => done(false));
    s.once('close', () => done(got === token));
  });
}

/** A host port that is free now and is neither forwarded by passt nor ssh's, so auto-ports may take it. */
async function listenPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (!taken.has(p) && p !== 22 && p !== GUEST_PORT) return p;
  }
}

interface AutoPortsBench {
  forwardMs: number[];
  removeMs: number[];
}

async function benchAutoPorts(user: TestUser, fwd: Forwards): Promise<AutoPortsBench> {
  const paths = roostPaths(userEnv(user));
  const watcher = startBackground(user, [CLI, 'port', 'watch', NAME]);
  const r: AutoPortsBench = { forwardMs: [], removeMs: [] };
  try {
    if (!(await waitUntil(() => readAutoPorts(paths, NAME) !== undefined, 120_000, 200)))
      throw new Error(`roost port watch did not start: ${watcher.output()}`);
    const taken = new Set([fwd.ssh, fwd.passt, fwd.slirp]);
    for (let i = 0; i < LISTENS; i++) {
      const port = await listenPort(taken);
      taken.add(port);
      if (!(await refused(port))) throw new Error(`127.0.0.1:${port} answers before the guest listens`);
      const prog = startInGuest(user, ['python3', '-u', GUEST_SCRIPT, 'listen', String(port)], 'LISTENING');
      try {
        const listening = await withTimeout(prog.ready, 60_000, `listener on guest port ${port}`);
        const answered = await waitUntil(() => echoes(port), 30_000, 20);
        if (!answered) throw new Error(`auto-ports never forwarded ${port}: ${watcher.output()}`);
        r.forwardMs.push(performance.now() - listening);
        // The listener exits after its one echo; the watcher should then drop the forward.
        await withTimeout(prog.exited, 30_000, `guest listener ${port} exiting`);
        const closed = performance.now();
        const gone = await waitUntil(
          async () => !readAutoPorts(paths, NAME)?.ports.includes(port) && (await refused(port)),
          30_000,
          50,
        );
        if (gone) r.removeMs.push(performance.now() - closed);
      } finally {
        prog.stop();
      }
      log(
        `auto-ports ${i + 1}/${LISTENS}: port ${port} forwarded ${r.forwardMs.at(-1)!.toFixed(0)} ms after listen()`,
      );
    }
  } finally {
    await stopWatcher(watcher);
  }
  return r;
}

/** SIGTERM lets the watcher cancel its forwards and close its ssh master; whatever is left of it is killed. */
async function stopWatcher(w: Background): Promise<void> {
  if (w.child.pid !== undefined && w.child.exitCode === null) {
    try {
      process.kill(w.child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await withTimeout(w.exited, 10_000, 'roost port watch stopping').catch(() => undefined);
  w.stop('SIGKILL');
}

// ---- the run --------------------------------------------------------------------------------------------

interface Results {
  bootMs: number;
  tp: Throughput;
  ip: IpBench;
  auto: AutoPortsBench;
  facts: { load: string; libvirt: string; qemu: string; passt: string };
}

async function machineFacts(uri: string): Promise<Results['facts']> {
  const ver = (v: bigint) => {
    const n = Number(v);
    return `${Math.floor(n / 1e6)}.${Math.floor(n / 1e3) % 1000}.${n % 1000}`;
  };
  const client = await connect(uri);
  try {
    const passt = await run('dpkg-query', ['-W', '-f', '${Version}', 'passt'], { check: false });
    return {
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      libvirt: ver(await client.libVersion()),
      qemu: ver(await client.version()),
      passt: passt.code === 0 ? passt.stdout.trim() : 'unknown',
    };
  } finally {
    await client.close();
  }
}

async function benchAll(): Promise<Results> {
  const real = ensureTestUser();
  const user = benchUser(real);
  checkPasstSocketPath(user);
  makeUserDirs(user);
  log(`starting a session daemon as ${user.name} under ${user.home} (runtime dir ${user.runtimeDir})`);
  const daemon = await startSessionDaemon(user);
  let server: Background | undefined;
  try {
    const facts = await machineFacts(daemon.uri);
    const fwd: Forwards = { ssh: await freePort(), passt: await freePort(), slirp: await freePort() };
    const bootMs = await bootGuest(real, user, daemon.uri, fwd);
    server = startInGuest(user, ['python3', '-u', GUEST_SCRIPT, 'serve', String(GUEST_PORT)], 'READY');
    await withTimeout(server.ready, 60_000, 'the guest transfer server');
    log(
      `throughput: ${MIB} MiB each way through passt :${fwd.passt} and slirp :${fwd.slirp}, ${ROUNDS} rounds`,
    );
    const tp = await benchThroughput(fwd);
    log(`roost ip ${NAME} --json × ${IP_RUNS}, interleaved with node -e 0`);
    const ip = await benchIp(user, daemon.uri);
    log(`roost ip: median ${median(ip.ipMs).toFixed(1)} ms; node -e 0 ${median(ip.nodeMs).toFixed(1)} ms`);
    log(`auto-ports: ${LISTENS} listens in the guest`);
    const auto = await benchAutoPorts(user, fwd);
    return { bootMs, tp, ip, auto, facts };
  } finally {
    server?.stop();
    await removeGuest(user, daemon.uri).catch((e: Error) => log(`cleanup: ${e.message}`));
    await stopSessionDaemon(daemon);
    stopLogDaemons(user);
    removeUserDirs(user);
  }
}

/**
 * The daemon started a virtlogd for the guest's log, with our private runtime dir; it would idle on for two
 * minutes after we removed that dir. Only those are ended: found by uid, name and that environment.
 */
function stopLogDaemons(user: TestUser): void {
  for (const p of processesOf(user.uid, /^virtlogd$/)) {
    let env = '';
    try {
      env = readFileSync(`/proc/${p.pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (env.split('\0').includes(`XDG_RUNTIME_DIR=${user.runtimeDir}`)) process.kill(p.pid, 'SIGTERM');
  }
}

// ---- the report -----------------------------------------------------------------------------------------

const yes = (b: boolean) => (b ? '✅' : '❌');
const fmt = (xs: number[], digits: number) =>
  `${median(xs).toFixed(digits)} <sub>(${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})</sub>`;

/** Like bench/run.ts: say so when other work competed for the CPU (the guest's TCG vCPUs need both cores). */
function busyWarning(load: string): string {
  const one = Number(load.split(' ')[0]);
  return one > cpus().length
    ? '\n\n**Warning:** the 1-minute load exceeded the core count when this run started: other work competed for ' +
        "the CPU (the guest's two TCG vCPUs want both cores), so the numbers are noisy."
    : '';
}

function report(r: Results): string {
  const { tp, ip, auto } = r;
  const upRatio = median(tp.passtUp) / median(tp.slirpUp);
  const downRatio = median(tp.passtDown) / median(tp.slirpDown);
  const ipMedian = median(ip.ipMs);
  const fwdMedian = median(auto.forwardMs);
  const rows = [
    `| host → guest, ${MIB} MiB through a passt forward (\`<portForward>\`), MB/s | ${fmt(tp.passtUp, 1)} | — | — |`,
    `| host → guest, ${MIB} MiB through QEMU slirp \`hostfwd\`, MB/s | ${fmt(tp.slirpUp, 1)} | — | — |`,
    `| guest → host, ${MIB} MiB through a passt forward, MB/s | ${fmt(tp.passtDown, 1)} | — | — |`,
    `| guest → host, ${MIB} MiB through QEMU slirp \`hostfwd\`, MB/s | ${fmt(tp.slirpDown, 1)} | — | — |`,
    `| throughput ratio passt ÷ slirp, host → guest / guest → host | **${upRatio.toFixed(2)}** / **${downRatio.toFixed(2)}** | — (issue 5: the ratio, same run) | — |`,
    `| \`roost ip NAME --json\`, running guest, address from the guest agent: start to exit, median of ${ip.ipMs.length} (ms) | ${fmt(ip.ipMs, 1)} | ≤ 100 ms | ${yes(ipMedian <= 100)} |`,
    `| for reference: \`node -e 0\`, same run, interleaved (ms) | ${fmt(ip.nodeMs, 1)} | — | — |`,
    `| for reference: \`roost --version\` (the CLI's start-up, no connection), interleaved (ms) | ${fmt(ip.versionMs, 1)} | — | — |`,
    `| for reference: the same lookup in-process (connect, requireAddresses, close), ${ip.inProcessMs.length} runs (ms) | ${fmt(ip.inProcessMs, 1)} | — | — |`,
    `| for reference: one guest-network-get-interfaces through libvirt, in-process (ms) | ${fmt(ip.agentMs, 1)} | — | — |`,
    `| auto-ports: guest listen() → host 127.0.0.1:PORT connects and echoes, median of ${auto.forwardMs.length} (s) | ${fmt(
      auto.forwardMs.map((x) => x / 1000),
      2,
    )} | ≤ 2 s | ${yes(fwdMedian <= 2000)} |`,
  ];
  if (auto.removeMs.length)
    rows.push(
      `| auto-ports: listener gone → host port refused, median of ${auto.removeMs.length} (s) | ${fmt(
        auto.removeMs.map((x) => x / 1000),
        2,
      )} | — | — |`,
    );
  return `## Networking (bench/net.ts)

One boot of the Debian test guest (systemd, cloud-init, sshd, qemu-guest-agent; 1 GiB, 2 vCPUs, TCG), made by
\`roost create --image … --port 127.0.0.1:P:22 --port 127.0.0.1:P:${GUEST_PORT}\` against a private session daemon of
the unprivileged test user, logged in after ${(r.bootMs / 1000).toFixed(0)} s. Before its start the bench added two
NICs to roost's definition, so that every path below reaches the **same guest** (same kernel, same server):
a QEMU slirp NIC (\`<qemu:commandline>\` \`-netdev user,restrict=on,hostfwd=tcp:127.0.0.1:P-${SLIRP_GUEST_IP}:${GUEST_PORT}\`,
virtio-net-pci: libvirt's \`<portForward>\` is passt-only) and a UDP-socket NIC (frames to 127.0.0.1 only) with a
static address for the guest agent to report.

- **Throughput**: a small Python server in the guest on port ${GUEST_PORT}; the host writes ${MIB} MiB into it and waits for its
  byte count (host → guest), and reads ${MIB} MiB from it (guest → host), one TCP connection each, through the passt
  forward and through the slirp hostfwd, ${ROUNDS} rounds alternating which goes first, after a 4 MiB warm-up each.
  MB/s = 10^6 B/s, median (range in small print). Under TCG the guest's emulated CPU is most of the cost on
  both paths; the ratio is what compares the forwarders.
- **\`roost ip\`**: \`node dist/cli/main.js ip NAME --json\` as the test user, process start to exit, ${ip.ipMs.length} runs
  after 3 warm-ups, interleaved with \`node -e 0\`. Every run had to return the UDP NIC's address with source
  \`agent\` (the first step of the lookup chain); a passt NIC alone never asks the agent — roost reports its
  forwarded endpoints. What it answered: ${ip.sample}.
- **auto-ports**: \`roost port watch NAME\` running (what \`create --auto-ports\` starts: an ssh control master that reads
  the guest's /proc/net/tcp every second and adds \`-L\` forwards). ${auto.forwardMs.length} times: a listener is started in the
  guest with \`roost ssh\` and prints LISTENING after listen(); the time runs from that line reaching the host to the
  first connect to 127.0.0.1:PORT that gets an echo back from it — both ends on the host's clock, so the ssh
  latency of the LISTENING line (milliseconds) is not counted. Then the listener exits and the bench waits for the
  watcher to drop the forward.

| benchmark | result | target | met |
|---|---:|---|:---:|
${rows.join('\n')}

Machine: libvirt ${r.facts.libvirt}, QEMU ${r.facts.qemu} (TCG), passt ${r.facts.passt}; load average before the run
${r.facts.load} on ${cpus().length} cores. The daemon's runtime dir is kept short: this passt cuts its \`--socket\`
path after ${PASST_SOCKET_MAX} characters, and QEMU then dials a socket nobody listens on (the guest gets no DHCP lease
while the forwards still listen).${busyWarning(r.facts.load)}
`;
}

const results = await benchAll();
process.stdout.write(report(results));
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
