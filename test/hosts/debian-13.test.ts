// The second host: a real Debian 13 userland (libvirt 11.3, QEMU 10.0, passt 2025, virtiofsd 1.13, Node 20.19)
// built and entered by scripts/test-host.sh, with scripts/setup-host.sh's Debian 13 branch installing its
// packages. Inside it, as its unprivileged user, the built CLI runs on the root's own Node: the session daemon
// answers, doctor reports virtiofs and the passt version, and the tiny guest lives through create with a passt
// port forward, its page over that forward, and rm. Needs root on the host (namespaces, pivot_root); the root is
// built once per input hash (docs/testing.md).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const guestsDir = process.env.ROOST_TEST_GUESTS_DIR ?? '/var/cache/roost-guests';
const isRoot = process.getuid?.() === 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv inside the Debian 13 root as its test user (no shell on the host side). */
function inDebian13(argv: string[], timeoutMs = 300_000): Promise<Run> {
  return new Promise((done) => {
    execFile(
      `${repo}/scripts/test-host.sh`,
      ['debian-13', '--', ...argv],
      { timeout: timeoutMs, maxBuffer: 16 << 20, env: { ...process.env, ROOST_TEST_GUESTS_DIR: guestsDir } },
      (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const roost = ['node', '/roost/dist/cli/main.js'];

describe.skipIf(!isRoot)('Debian 13 host', () => {
  it('builds the root with setup-host.sh and answers on qemu:///session as the unprivileged user', async () => {
    const r = await inDebian13(['sh', '-c', 'id -un; virsh -c qemu:///session version'], 1_500_000);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^roost\n/);
    expect(r.stdout).toMatch(/Using library: libvirt 11\./);
  });

  it('doctor --json reports virtiofs available and the passt version', async () => {
    const r = await inDebian13([...roost, 'doctor', '--json']);
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] };
    const check = (id: string) => report.checks.find((c) => c.id === id)!;
    expect(check('virtiofs')).toMatchObject({ status: 'ok' });
    expect(check('virtiofs').detail).toMatch(/^virtiofs available: virtiofsd 1\.\d+/);
    expect(check('passt')).toMatchObject({ status: 'ok' });
    // Debian 13's passt names its version after the git snapshot it packages.
    expect(check('passt').detail).toMatch(/^passt \S*2025\d{4}\S* \(\/usr\/bin\/passt\)$/);
    expect(check('libvirt-passt').status).toBe('ok');
  });

  it('runs the tiny guest: create with a passt port forward, its page over the forward, rm', async () => {
    const tiny = `${guestsDir}/${tinyDirName()}`;
    const port = 18_000 + Math.floor(Math.random() * 1_000);
    // One shell session inside the root, so the session daemon and the guest share one PID namespace's life.
    const script = [
      'set -e',
      `${roost.join(' ')} create tiny13 --kernel "$1/vmlinuz" --initrd "$1/initrd.img" --cmdline "console=ttyS0 quiet" --memory 256M --cpus 1 --port "$2:80"`,
      `for i in $(seq 120); do node -e 'fetch("http://127.0.0.1:"+process.argv[1]+"/").then(r=>r.text()).then(t=>{process.stdout.write(t);process.exit(t.includes("roost tiny guest OK")?0:1)},()=>process.exit(1))' "$2" && break; sleep 2; done`,
      `${roost.join(' ')} rm --force tiny13`,
      'virsh -c qemu:///session list --all --name',
    ].join('\n');
    const r = await inDebian13(['sh', '-c', script, 'sh', tiny, String(port)], 600_000);
    expect(r.stdout).toContain('roost tiny guest OK');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).not.toBe('tiny13');
  });
});

/** The tiny fixture's directory name under the guests dir (from its manifest). */
function tinyDirName(): string {
  const m = JSON.parse(readFileSync(`${guestsDir}/manifest.json`, 'utf8')) as {
    tiny: { dir: string };
  };
  return m.tiny.dir.split('/').at(-1)!;
}
