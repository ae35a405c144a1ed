// The second host: a real Debian 13 userland (libvirt 11.3, QEMU 10.0, passt 2025, virtiofsd 1.13, Node 20.19)
// built and entered by scripts/test-host.sh, with scripts/setup-host.sh's Debian 13 branch installing its
// packages. Inside it, as its unprivileged user, the built CLI runs on the root's own Node: the session daemon
// answers; doctor reports virtiofs and the passt version; the demo's VM (scripts/demo.ts) answers on its page;
// the tiny guest lives through create with a passt forward, a forward added and applied by a restart, and rm,
// leaving no process; and `--mount` picks virtiofs, which the guest mounts, reads and writes through. Needs root
// on the host (namespaces, pivot_root); the root is built once per input hash (docs/testing.md).
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyGuest } from '../harness/fixtures.js';
import { ensureTestUser } from '../harness/test-user.js';
import { inDebian13, ROOST, sections, type Run } from './enter.js';

const isRoot = process.getuid?.() === 0;

/** The tiny guest, copied where the root's user can read it (the test user's fixtures are in its private home). */
let guests = '';
let tiny = { dir: '', kernel: '', initrd: '', cmdline: '' };

beforeAll(() => {
  if (!isRoot) return;
  const built = tinyGuest(ensureTestUser());
  guests = mkdtempSync(join(tmpdir(), 'roost-hosts-'));
  chmodSync(guests, 0o755);
  const dir = join(guests, 'tiny');
  mkdirSync(dir, { mode: 0o755 });
  tiny = { ...built, dir, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') };
  copyFileSync(built.kernel, tiny.kernel);
  copyFileSync(built.initrd, tiny.initrd);
  chmodSync(tiny.kernel, 0o644);
  chmodSync(tiny.initrd, 0o644);
  // The manifest scripts/demo.ts reads, naming the copy.
  writeFileSync(join(guests, 'manifest.json'), JSON.stringify({ tiny }), { mode: 0o644 });
});
afterAll(() => {
  if (guests !== '') rmSync(guests, { recursive: true, force: true });
});

function run(script: string[], args: string[], timeoutMs = 600_000): Promise<Run> {
  return inDebian13(['sh', '-c', script.join('\n'), 'sh', ...args], guests, timeoutMs);
}

const randomPort = () => 18_000 + Math.floor(Math.random() * 2_000);

// Shell helpers for the scripts below: the page over a forward, a POST to it, and the processes of a program
// (uid and command line) read from /proc, as the minimal root has no ps.
const helpers = [
  `roost() { ${ROOST.join(' ')} "$@"; }`,
  `get() { node -e 'fetch(process.argv[1]).then(r=>r.text()).then(t=>process.stdout.write(t+"\\n"),e=>{console.log(String(e.cause??e));process.exitCode=1})' "$1"; }`,
  `post() { node -e 'fetch(process.argv[1],{method:"POST",body:process.argv[2]}).then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.log(String(e.cause??e));process.exitCode=1})' "$1" "$2"; }`,
  // By program name (argv[0]'s base name, so this script's own command line never matches).
  `procs() { for p in /proc/[0-9]*; do a=$(head -zn1 "$p/cmdline" 2>/dev/null | tr -d '\\0') || continue; case "\${a##*/}" in "$1"*) echo "$(awk '/^Uid:/ { print $2 }' "$p/status") $(tr '\\0' ' ' < "$p/cmdline")" ;; esac; done; }`,
];

describe.skipIf(!isRoot)('Debian 13 host', () => {
  it('builds the root with setup-host.sh and answers on qemu:///session as the unprivileged user', async () => {
    const r = await inDebian13(['sh', '-c', 'id -un; virsh -c qemu:///session version'], guests, 1_500_000);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^roost\n/);
    expect(r.stdout).toMatch(/Using library: libvirt 11\./);
  });

  it('doctor --json reports virtiofs available and the passt version', async () => {
    const r = await inDebian13([...ROOST, 'doctor', '--json'], guests);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] };
    const check = (id: string) => report.checks.find((c) => c.id === id)!;
    expect(check('virtiofs')).toMatchObject({ status: 'ok' });
    expect(check('virtiofs').detail).toMatch(/^virtiofs available: virtiofsd 1\.\d+/);
    expect(check('passt')).toMatchObject({ status: 'ok' });
    // Debian 13's passt names its version after the git snapshot it packages.
    expect(check('passt').detail).toMatch(/^passt \S*2025\d{4}\S* \(\/usr\/bin\/passt\)$/);
    expect(check('libvirt-passt').status).toBe('ok');
  });

  it("runs the README's demo VM (scripts/demo.ts): its page answers on the forward it prints", async () => {
    const port = randomPort();
    const r = await run(
      [
        'set -e',
        ...helpers,
        'ROOST_TEST_GUESTS_DIR="$1" ROOST_DEMO_PORT="$2" node --import tsx scripts/demo.ts',
        'echo "== page"; get "http://127.0.0.1:$2/"',
        'roost rm --force demo',
      ],
      [guests, String(port)],
    );
    expect(r.stderr).not.toMatch(/^demo: /m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("demo: the page answers: 'roost tiny guest OK'");
    expect(r.stdout).toContain(`URL:        http://127.0.0.1:${port}/`);
    expect(sections(r.stdout).page).toContain('roost tiny guest OK');
  });

  it('tiny guest with passt 2025: a forward at create, one added and applied by a restart, rm leaves nothing', async () => {
    const [first, second] = [randomPort(), randomPort() + 2_000];
    const r = await run(
      [
        'set -e',
        ...helpers,
        'echo "== uid"; id -u; echo "== _"',
        `roost create tiny13 --kernel "$1/vmlinuz" --initrd "$1/initrd.img" --cmdline "$4" --memory 256M --cpus 1 --port "$2:80" --wait port:80`,
        'echo "== first"; get "http://127.0.0.1:$2/"',
        'echo "== passt"; procs passt',
        'echo "== add"; roost port add tiny13 "$3:80" --json; echo "== _"',
        'roost stop --force tiny13',
        'roost start tiny13 --wait port:80',
        'echo "== second"; get "http://127.0.0.1:$3/"',
        'echo "== ls"; roost port ls tiny13 --json; echo "== _"',
        'roost rm --force tiny13',
        'echo "== after"; procs qemu-system; procs passt; virsh -c qemu:///session list --all --name',
      ],
      [tiny.dir, String(first), String(second), tiny.cmdline],
    );
    const s = sections(r.stdout);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(s.first).toContain('roost tiny guest OK');
    // passt runs as the root's unprivileged user, started by libvirt with the forward on loopback only.
    const uid = Number(s.uid);
    const passt = s.passt!.trim().split('\n');
    expect(passt).toHaveLength(1);
    expect(passt[0]).toMatch(
      new RegExp(`^${uid} \\S*passt\\S* .*--tcp-ports 127\\.0\\.0\\.1/${first}:80( |$)`),
    );
    expect(JSON.parse(s.add!)).toMatchObject({ name: 'tiny13' });
    expect(s.second).toContain('roost tiny guest OK');
    const ls = JSON.parse(s.ls!) as {
      running: boolean;
      ports: { host: string; guest: string; state: string }[];
    };
    expect(ls.running).toBe(true);
    expect(ls.ports.map((p) => [p.host, p.guest, p.state])).toEqual([
      [String(first), '80', 'active'],
      [String(second), '80', 'active'],
    ]);
    expect(s.after!.trim()).toBe('');
  });

  it('--mount picks virtiofs: memfd-backed XML, virtiofsd as the user, the guest reads and writes the share', async () => {
    const port = randomPort();
    const r = await run(
      [
        'set -e',
        ...helpers,
        'echo "== uid"; id -u; echo "== _"',
        'mkdir ~/share; echo "written on the host" > ~/share/host.txt',
        `roost create fs13 --kernel "$1/vmlinuz" --initrd "$1/initrd.img" --cmdline "$3 roost.virtiofs=roost0" --memory 256M --cpus 1 --port "$2:80" --mount ~/share:/mnt/share --wait port:80`,
        'echo "== xml"; virsh -c qemu:///session dumpxml fs13',
        'echo "== virtiofsd"; procs virtiofsd',
        'echo "== read"; get "http://127.0.0.1:$2/mnt/roost0/host.txt"',
        'echo "== put"; post "http://127.0.0.1:$2/cgi-bin/put?roost0/guest.txt" "written in the guest"; echo',
        'echo "== written"; stat -c "%u %a" ~/share/guest.txt; cat ~/share/guest.txt; echo',
        'echo "== mounts"; roost mount ls fs13 --json; echo "== _"',
        'roost rm --force fs13',
        'echo "== after"; procs virtiofsd; ls ~/share',
      ],
      [tiny.dir, String(port), tiny.cmdline],
    );
    const s = sections(r.stdout);
    expect(r.code).toBe(0);
    const xml = s.xml!;
    expect(xml).toMatch(/<memoryBacking>\s*<source type='memfd'\/>\s*<access mode='shared'\/>/);
    expect(xml).toMatch(/<filesystem type='mount' accessmode='passthrough'>\s*<driver type='virtiofs'/);
    expect(xml).toMatch(/<target dir='roost0'\/>/);
    // virtiofsd runs as the user (its own namespace maps the guest's root to it), not as root.
    const uid = Number(s.uid);
    const virtiofsd = s.virtiofsd!.trim().split('\n');
    expect(virtiofsd.length).toBeGreaterThan(0);
    for (const line of virtiofsd) expect(line).toMatch(new RegExp(`^${uid} .*virtiofsd `));
    expect(s.read).toContain('written on the host');
    expect(s.put).toContain('written');
    expect(s.written!.trim().split('\n')).toEqual([`${uid} 644`, 'written in the guest']);
    expect(JSON.parse(s.mounts!)).toMatchObject({ mounts: [{ type: 'virtiofs', tag: 'roost0' }] });
    expect(s.after!.trim().split('\n')).toEqual(['guest.txt', 'host.txt']);
  });
});
