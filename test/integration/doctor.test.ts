// roost doctor on this machine, as the unprivileged test user, through the BUILT command line (run
// `npm run build` first): every claim is checked against an independent witness — the accel probe run here,
// the helper's real file mode, the real bridge.conf, virsh for leftovers — never against a hard-coded answer.
// Nothing here changes the host: no chmod of the helper, no bridge.conf written.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LibvirtClient } from '../../src/index.js';
import { detectAccel, type AccelDecision } from '../../src/host/accel.js';
import { BRIDGE_CONF, BRIDGE_HELPER_PATHS } from '../../src/host/checks/bridge.js';
import { PROBE_PREFIX, probePasstBackend } from '../../src/host/checks/passt-support.js';
import type { CheckResult, DoctorReport } from '../../src/host/checks/types.js';
import { domainNames, harness, runAs, type RunResult, type TestUser } from '../harness/index.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(repo, 'dist/cli/main.js');
const { user, uri } = harness();

/** The newest mtime under a directory (the doctor's sources), to refuse a stale build. */
function newest(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, ext));
    else if (e.name.endsWith(ext) && !e.name.endsWith('.test.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Whether `user` may open `device` read-write by its mode bits (as the accel probe's access() would). */
function userCanUse(device: string, u: TestUser): boolean {
  let st;
  try {
    st = statSync(device);
  } catch {
    return false;
  }
  const bits = st.uid === u.uid ? (st.mode >> 6) & 7 : st.gid === u.gid ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 6) === 6;
}

function doctor(args: string[] = []): Promise<RunResult> {
  return runAs(user, process.execPath, [cli, 'doctor', ...args], { check: false, timeoutMs: 60_000 });
}

const byId = (r: DoctorReport, id: string): CheckResult => {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check '${id}' in ${JSON.stringify(r.checks.map((x) => x.id))}`);
  return c;
};

let result: RunResult;
let report: DoctorReport;
let witness: AccelDecision;

beforeAll(async () => {
  if (
    !existsSync(cli) ||
    statSync(join(repo, 'dist/host/doctor.js')).mtimeMs < newest(join(repo, 'src/host'), '.ts')
  )
    throw new Error('dist/ is missing or older than src/host: run `npm run build` first');
  [result, witness] = await Promise.all([doctor(['--json']), detectAccel({ cacheFile: null })]);
  report = JSON.parse(result.stdout) as DoctorReport;
});

describe('roost doctor --json on this machine, as the test user', () => {
  it('exits 0 with {checks, ok: true} and nothing on stderr', () => {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(Object.keys(report).sort()).toEqual(['checks', 'ok']);
    for (const c of report.checks) {
      expect(Object.keys(c).every((k) => ['id', 'title', 'status', 'detail', 'fix'].includes(k))).toBe(true);
      expect(['ok', 'warn', 'fail']).toContain(c.status);
    }
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('runs unprivileged against a reachable session daemon', () => {
    expect(byId(report, 'user')).toMatchObject({ status: 'ok', detail: `uid ${user.uid} (${user.name})` });
    expect(byId(report, 'daemon').status).toBe('ok');
    expect(byId(report, 'daemon').detail).toMatch(/^qemu:\/\/\/session answers: libvirt \d+\.\d+\.\d+, QEMU/);
  });

  it('says this libvirt accepts passt, and leaves no probe domain behind', async () => {
    expect(byId(report, 'libvirt-passt').status).toBe('ok');
    expect(byId(report, 'passt').status).toBe('ok');
    // The test user's runtime dir is /run/user/UID: every VM name fits passt's socket path.
    expect(byId(report, 'socket-paths')).toMatchObject({ status: 'ok' });
    expect((await domainNames(uri)).filter((n) => n.startsWith(PROBE_PREFIX))).toEqual([]);
  });

  it('reports the accelerator the probe finds for this user (TCG here), as a warning with the reason', () => {
    // The witness runs here (as root); the test user also needs permission to open /dev/kvm.
    const expected = witness.accel === 'kvm' && userCanUse('/dev/kvm', user) ? 'kvm' : 'tcg';
    const accel = byId(report, 'accel');
    expect(accel.detail.startsWith(`${expected}: `)).toBe(true);
    expect(accel.status).toBe(expected === 'tcg' ? 'warn' : 'ok');
  });

  it("names the bridge helper's chmod fix exactly when the real file lacks the setuid bit", () => {
    const helper = BRIDGE_HELPER_PATHS.find((p) => existsSync(p));
    const check = byId(report, 'bridge-helper');
    expect(helper).toBeDefined();
    const st = statSync(helper!);
    if ((st.mode & 0o4000) !== 0 && st.uid === 0) {
      expect(check.status).toBe('ok');
    } else {
      expect(check).toMatchObject({ status: 'warn', fix: `sudo chmod u+s ${helper}` });
    }
  });

  it('names the bridge.conf fix when the real file is missing', () => {
    const check = byId(report, 'bridge-conf');
    if (existsSync(BRIDGE_CONF)) {
      expect(['ok', 'warn']).toContain(check.status);
    } else {
      expect(check).toMatchObject({
        status: 'warn',
        fix: `sudo mkdir -p /etc/qemu && echo 'allow virbr0' | sudo tee -a ${BRIDGE_CONF} && sudo chmod 644 ${BRIDGE_CONF}`,
      });
    }
  });
});

describe('roost doctor: the bridge steps, judged on this host as it is', () => {
  it('IPv4 forwarding follows /proc/sys/net/ipv4/ip_forward', () => {
    const on = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1';
    const check = byId(report, 'bridge-ip-forward');
    if (on) expect(check.status).toBe('ok');
    else
      expect(check).toMatchObject({
        status: 'warn',
        fix: expect.stringContaining('sysctl -w net.ipv4.ip_forward=1'),
      });
  });

  it('the default network: names exactly what is missing (defined, started, autostarted)', () => {
    const check = byId(report, 'bridge-default-network');
    const defined = existsSync('/etc/libvirt/qemu/networks/default.xml');
    const started = existsSync('/sys/class/net/virbr0/bridge');
    const autostart = existsSync('/etc/libvirt/qemu/networks/autostart/default.xml');
    expect(check.status).toBe(defined && started && autostart ? 'ok' : 'warn');
    expect(check.detail.includes('is not defined')).toBe(!defined);
    expect(check.detail.includes('virbr0 does not exist')).toBe(!started);
    expect(check.detail.includes('does not autostart')).toBe(!autostart);
    expect((check.fix ?? '').includes('net-start default')).toBe(!started);
  });

  it('/dev/net/tun: ok only when everyone can read and write it', () => {
    const mode = statSync('/dev/net/tun').mode;
    const check = byId(report, 'bridge-tun');
    expect(check.status).toBe((mode & 0o006) === 0o006 ? 'ok' : 'warn');
    if (check.status === 'warn') expect(check.fix).toBe('sudo -- chmod 0666 /dev/net/tun');
  });
});

describe('roost doctor for humans', () => {
  it('prints one marked line per check, the fixes indented under them, a summary — fast', async () => {
    const started = Date.now();
    const r = await doctor();
    const elapsed = Date.now() - started;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const marked = lines.filter((l) => /^[✓!✗] /.test(l));
    expect(marked).toHaveLength(report.checks.length);
    for (const c of report.checks) {
      const i = lines.findIndex((l) =>
        l.startsWith(`${{ ok: '✓', warn: '!', fail: '✗' }[c.status]} ${c.title} `),
      );
      expect(i).toBeGreaterThanOrEqual(0);
      if (c.fix) expect(lines[i + 1]).toBe(`    fix: ${c.fix.split('\n')[0]}`);
    }
    expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ warnings?, 0 failed: /);
    // The accel answer is cached per boot by the --json run: the whole doctor stays under 2 s.
    expect(elapsed).toBeLessThan(2_000);
  });
});

describe('the passt probe against the real daemon (the path older libvirt takes)', () => {
  let client: LibvirtClient;
  beforeAll(async () => {
    client = await connect(uri);
  });
  afterAll(async () => {
    await client?.close();
  });

  it('is accepted for passt and refused for an unknown backend, and never leaves a domain', async () => {
    expect(await probePasstBackend(client)).toEqual({ outcome: 'accepted' });
    const bogus = await probePasstBackend(client, { backend: 'no-such-backend' });
    expect(bogus.outcome).toBe('refused');
    expect((await domainNames(uri)).filter((n) => n.startsWith(PROBE_PREFIX))).toEqual([]);
  });
});
