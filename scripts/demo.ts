// The demo VM: the tiny guest as a session VM of the current (unprivileged) user, with a passt port forward
// 127.0.0.1:18080 → guest port 80. Run through `npm run demo` (scripts/demo.sh), which installs and builds what
// this needs first. Until `roost create` exists this drives the libvirt client directly.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { connect, detectAccel, isNotFound, type LibvirtClient } from '../src/index.js';
import { tinyDomainXml } from './lib/tiny-domain-xml.js';

const NAME = 'roost-demo';
const PORT = Number(process.env.ROOST_DEMO_PORT ?? 18080);
const MARK = 'made by roost npm run demo';
const PAGE_TIMEOUT_MS = 90_000;

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

function tinyGuest(): { kernel: string; initrd: string; cmdline: string } {
  const dir = process.env.ROOST_TEST_GUESTS_DIR ?? join(homedir(), '.cache', 'roost', 'test-guests');
  const file = join(dir, 'manifest.json');
  if (!existsSync(file))
    fail(`no tiny guest in ${dir}: run 'npm run demo' (it builds one) or 'npm run fixtures -- --only tiny'`);
  const tiny = JSON.parse(readFileSync(file, 'utf8')).tiny;
  if (!tiny) fail(`${file} has no tiny guest: run 'npm run fixtures -- --only tiny'`);
  return tiny;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function fetchPage(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

/** Removes an earlier demo VM (ours only: a domain of that name not made by the demo is left alone). */
async function removePrevious(lv: LibvirtClient): Promise<void> {
  const dom = await lv
    .lookupDomain(NAME)
    .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
  if (!dom) return;
  if (!(await lv.getXml(dom)).includes(MARK)) {
    fail(`a VM named '${NAME}' exists and was not made by the demo; remove it or rename it, then run again`);
  }
  console.log(`demo: replacing the earlier demo VM '${NAME}'`);
  if (await lv.isActive(dom)) await lv.destroyDomain(dom);
  await lv.undefineDomain(dom, 4 /* NVRAM */);
}

async function main(): Promise<void> {
  if (userInfo().uid === 0)
    fail('run through `npm run demo`: as root it switches to an unprivileged user first');
  const guest = tinyGuest();
  const lv = await connect();
  try {
    await removePrevious(lv);
    if (!(await portFree(PORT))) {
      fail(`127.0.0.1:${PORT} is in use by another program; free it or set ROOST_DEMO_PORT=another-port`);
    }
    const accel = await detectAccel();
    console.log(`demo: ${accel.accel.toUpperCase()} — ${accel.reason}`);
    const logDir = join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'roost', 'logs');
    mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const serialLog = join(logDir, `${NAME}.serial.log`);
    const xml = tinyDomainXml({
      name: NAME,
      kernel: guest.kernel,
      initrd: guest.initrd,
      cmdline: guest.cmdline,
      forwards: [{ proto: 'tcp', address: '127.0.0.1', hostPort: PORT, guestPort: 80 }],
      serialLog,
      accel: accel.accel,
      description: MARK,
    });
    const dom = await lv.startDomain(await lv.defineDomain(xml));
    console.log(`demo: started '${NAME}' on ${await lv.uri()}; waiting for its web page…`);

    const started = Date.now();
    let page: string | undefined;
    while (!(page = await fetchPage(PORT))) {
      if (Date.now() - started > PAGE_TIMEOUT_MS) {
        const tail = existsSync(serialLog)
          ? readFileSync(serialLog, 'utf8').split('\n').slice(-15).join('\n')
          : '';
        fail(
          `the guest did not answer on 127.0.0.1:${PORT} within ${PAGE_TIMEOUT_MS / 1000} s. Serial log (${serialLog}):\n${tail}`,
        );
      }
      process.stdout.write(`\r  ${((Date.now() - started) / 1000).toFixed(0)} s`);
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write('\r');
    const title = /<h1>([^<]*)<\/h1>/.exec(page)?.[1] ?? 'page';
    const who = userInfo().username;
    const virsh = process.env.ROOST_DEMO_AS_ROOT
      ? `runuser -u ${who} -- env XDG_RUNTIME_DIR=${process.env.XDG_RUNTIME_DIR} virsh -c qemu:///session`
      : 'virsh -c qemu:///session';
    const state = (await lv.getState(dom)).state === 1 ? 'running' : 'not running';
    console.log(`demo: '${title}' answered after ${((Date.now() - started) / 1000).toFixed(1)} s

  URL:        http://127.0.0.1:${PORT}/
  VM:         ${NAME} (${state}, session VM of ${who}, passt forward 127.0.0.1:${PORT} → guest :80)
  see it:     ${virsh} list --all
  its XML:    ${virsh} dumpxml ${NAME}
  serial log: ${serialLog}
  remove it:  ${virsh} destroy ${NAME} && ${virsh} undefine ${NAME}
`);
  } finally {
    await lv.close();
  }
}

main().catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
