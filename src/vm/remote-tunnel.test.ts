// How a VM of another host is reached from here: its host-key alias, the ssh -W ProxyCommand that `roost ssh`,
// `roost cp` and the ssh wait use, a wait's forward (a local VM's target left as it is), and the ssh -L lines
// `roost port ls` prints for it.
import { describe, expect, it } from 'vitest';
import type { PortRow } from '../shared/api-types.js';
import { forwardCommands, remoteSshAlias, TargetForward, throughRemoteHost } from './remote-tunnel.js';

const remote = { uri: 'qemu+ssh://alice@lab.example:2222/session?keyfile=/home/a/.ssh/100%25', env: {} };
const target = { alias: 'web.roost', host: '127.0.0.1', port: 2230, user: 'debian', identityFile: '/k' };

describe('remoteSshAlias', () => {
  it('names the VM and its host, as a known_hosts field holds it', () => {
    expect(remoteSshAlias(remote, 'web')).toBe('web.alice-lab.example-2222.roost');
    expect(remoteSshAlias({ uri: 'qemu+ssh://[::1]/session' }, 'db')).toMatch(/^db\.[A-Za-z0-9._-]+\.roost$/);
    expect(remoteSshAlias({ uri: 'qemu+ssh://lab/session' }, 'web')).not.toBe('web.roost');
  });
});

describe('throughRemoteHost', () => {
  it('keeps the address and port (as the remote host sees them) and jumps there with ssh -W', async () => {
    const t = await throughRemoteHost(remote, 'web', target);
    expect(t).toMatchObject({
      host: '127.0.0.1',
      port: 2230,
      user: 'debian',
      alias: 'web.alice-lab.example-2222.roost',
    });
    expect(t.via!.argv.slice(-4)).toEqual(['-W', '127.0.0.1:2230', '--', 'lab.example']);
    expect(t.via!.argv).toEqual(
      expect.arrayContaining(['-p', '2222', '-l', 'alice', '-i', '/home/a/.ssh/100%']),
    );
    // The ProxyCommand text: each word single-quoted for the shell, and '%' doubled against ssh's %-tokens.
    expect(t.via!.proxyCommand).toContain("'-i' '/home/a/.ssh/100%%'");
    expect(t.via!.proxyCommand).toMatch(/'-W' '127\.0\.0\.1:2230' '--' 'lab\.example'$/);
  });
});

describe('TargetForward', () => {
  it('leaves a target of this host as it is, and opens nothing', async () => {
    const f = new TargetForward({ uri: 'qemu:///session', env: {} });
    expect(await f.to(target)).toBe(target);
    f.close();
  });
});

describe('forwardCommands', () => {
  const row = (p: Partial<PortRow>): PortRow => ({
    spec: '',
    proto: 'tcp',
    address: '127.0.0.1',
    host: '8080',
    guest: '80',
    state: 'active',
    exposed: false,
    ...p,
  });
  it('one ssh -L line per TCP forward, to the address it listens on there, with the URI’s login', () => {
    expect(
      forwardCommands(remote, [
        row({}),
        row({ address: '0.0.0.0', host: '9000-9001' }),
        row({ address: '::', host: '8443' }),
        row({ proto: 'udp', host: '5353' }),
        row({ state: 'removed-at-next-start', host: '7000' }),
      ]),
    ).toEqual([
      'ssh -N -L 8080:127.0.0.1:8080 -p 2222 -i /home/a/.ssh/100% alice@lab.example',
      'ssh -N -L 9000:127.0.0.1:9000 -p 2222 -i /home/a/.ssh/100% alice@lab.example',
      "ssh -N -L '8443:[::1]:8443' -p 2222 -i /home/a/.ssh/100% alice@lab.example",
    ]);
  });

  it('quotes a key path the shell would split', () => {
    const [line] = forwardCommands({ uri: "qemu+ssh://lab/session?keyfile=/my keys/it's" }, [row({})]);
    expect(line).toBe("ssh -N -L 8080:127.0.0.1:8080 -i '/my keys/it'\\''s' lab");
  });
});
