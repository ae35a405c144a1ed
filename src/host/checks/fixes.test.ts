import { describe, expect, it } from 'vitest';
import { installFixes, parseOsRelease, setupScriptPath } from './fixes.js';

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION_CODENAME=bookworm
ID=debian
`;
const UBUNTU = `NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n`;
const FEDORA = `NAME="Fedora Linux"\nVERSION_ID=41\nID=fedora\n`;

describe('os-release', () => {
  it('parses quoted and bare values', () => {
    expect(parseOsRelease(DEBIAN_12)).toEqual({
      id: 'debian',
      versionId: '12',
      idLike: [],
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(parseOsRelease(UBUNTU).idLike).toEqual(['debian']);
    expect(parseOsRelease('').id).toBe('linux');
  });
});

describe('install fixes', () => {
  it("on Debian 12 installs libvirt and QEMU from backports through roost's setup script", () => {
    const f = installFixes(parseOsRelease(DEBIAN_12), '/opt/roost/scripts/setup-host.sh');
    expect(f.libvirt).toBe('/opt/roost/scripts/setup-host.sh');
    expect(f.qemu).toBe('/opt/roost/scripts/setup-host.sh');
    expect(f.ovmf).toBe('sudo apt-get install ovmf');
    expect(f.passt).toBe('sudo apt-get install passt');
  });

  it('on Debian 12 without the script names the backports packages', () => {
    const f = installFixes(parseOsRelease(DEBIAN_12), null);
    expect(f.libvirt).toMatch(/^sudo apt-get install -t bookworm-backports .*libvirt-daemon-driver-qemu/);
  });

  it('uses apt on other Debian-likes and dnf on Fedora', () => {
    expect(installFixes(parseOsRelease(UBUNTU), null).libvirt).toMatch(/^sudo apt-get install /);
    expect(installFixes(parseOsRelease(FEDORA), null).ovmf).toBe('sudo dnf install edk2-ovmf');
  });

  it("finds the setup script shipped beside roost's code", () => {
    expect(setupScriptPath()).toMatch(/\/scripts\/setup-host\.sh$/);
  });
});
