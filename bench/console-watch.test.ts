import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_INIT_FINISHED, watchConsole } from './console-watch.js';

describe('watchConsole', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const logFile = () => {
    const d = mkdtempSync(join(tmpdir(), 'roost-console-'));
    dirs.push(d);
    return join(d, 'vm.serial.log');
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

  it("notes cloud-init's final message once it reaches a file that did not exist at first, split over two writes", async () => {
    const path = logFile();
    const w = watchConsole(path, CLOUD_INIT_FINISHED, 5);
    await tick();
    appendFileSync(
      path,
      '[   40.1] systemd[1]: Started ssh.service\r\n[   52.8] cloud-init[502]: Cloud-init v. 22.4',
    );
    await tick();
    const before = performance.now();
    appendFileSync(
      path,
      '.2 finished at Fri, 04 Dec 2026 16:56:13 +0000. Datasource DataSourceNoCloud.\r\nlogin: ',
    );
    const seen = await w.seen;
    expect(seen?.line).toBe(
      '[   52.8] cloud-init[502]: Cloud-init v. 22.4.2 finished at Fri, 04 Dec 2026 16:56:13 +0000. Datasource DataSourceNoCloud.',
    );
    expect(seen!.at).toBeGreaterThanOrEqual(before);
  });

  it("does not count what the file held before (an earlier VM's log), nor other cloud-init lines", async () => {
    const path = logFile();
    appendFileSync(path, 'Cloud-init v. 1 finished at Thu, 03 Dec 2026. Datasource x.\n');
    const w = watchConsole(path, CLOUD_INIT_FINISHED, 5);
    await tick();
    appendFileSync(path, 'Cloud-init v. 1 running modules:final\n');
    await tick();
    w.stop();
    expect(await w.seen).toBeUndefined();
  });

  it('reads a file truncated or replaced meanwhile from its start', async () => {
    const path = logFile();
    appendFileSync(path, 'x'.repeat(10_000) + '\n');
    const truncated = watchConsole(path, CLOUD_INIT_FINISHED, 5);
    await tick();
    writeFileSync(path, 'Cloud-init v. 2 finished at now\n');
    expect((await truncated.seen)?.line).toBe('Cloud-init v. 2 finished at now');
    const replaced = watchConsole(path, CLOUD_INIT_FINISHED, 5);
    await tick();
    rmSync(path);
    // From the old offset on, the new file holds only padding: the line is found only if it is read from its start.
    writeFileSync(path, 'Cloud-init v. 3 finished at then\n' + 'x'.repeat(20_000));
    expect((await replaced.seen)?.line).toBe('Cloud-init v. 3 finished at then');
  });
});
