// The install commands `roost doctor` prints, for the distribution in /etc/os-release. On Debian 12 libvirt and
// QEMU must come from bookworm-backports (Debian's own libvirt 9.0.0 refuses passt, docs/architecture.md); roost's
// scripts/setup-host.sh enables backports from the configured mirror and installs from there, so that is the fix.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../package-root.js';

export interface OsRelease {
  id: string;
  versionId: string;
  idLike: string[];
  prettyName: string;
}

/** What installs each missing piece on this distribution. */
export interface InstallFixes {
  /** libvirt with the QEMU driver, recent enough for passt. */
  libvirt: string;
  qemu: string;
  passt: string;
  ovmf: string;
  /** The package that ships qemu-bridge-helper. */
  bridgeHelper: string;
  /** virtiofsd, for shared folders (optional). */
  virtiofsd: string;
}

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): OsRelease {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!.trim();
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1).replace(/\\(["$`\\])/g, '$1');
    vars.set(m[1]!, v);
  }
  return {
    id: vars.get('ID') ?? 'linux',
    versionId: vars.get('VERSION_ID') ?? '',
    idLike: (vars.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    prettyName: vars.get('PRETTY_NAME') ?? vars.get('NAME') ?? 'Linux',
  };
}

export function readOsRelease(path = '/etc/os-release'): OsRelease {
  try {
    return parseOsRelease(readFileSync(path, 'utf8'));
  } catch {
    return parseOsRelease('');
  }
}

/** roost's host setup script, shipped in the package (package.json "files"): absolute, so it can be pasted. */
export function setupScriptPath(): string | null {
  const root = packageRoot();
  const p = root ? join(root, 'scripts', 'setup-host.sh') : null;
  return p && existsSync(p) ? p : null;
}

export function installFixes(
  os: OsRelease,
  /** null: not found (then the package commands are named instead). */
  setupScript: string | null = setupScriptPath(),
): InstallFixes {
  const family = [os.id, ...os.idLike];
  if (os.id === 'debian' && os.versionId === '12') {
    const backports =
      'sudo apt-get install -t bookworm-backports libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils';
    const virt = setupScript ?? backports;
    return {
      libvirt: virt,
      qemu: virt,
      passt: 'sudo apt-get install passt',
      ovmf: 'sudo apt-get install ovmf',
      bridgeHelper: 'sudo apt-get install qemu-system-common',
      virtiofsd: 'sudo apt-get install virtiofsd',
    };
  }
  if (family.includes('debian') || family.includes('ubuntu')) {
    return {
      libvirt: 'sudo apt-get install libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients',
      qemu: 'sudo apt-get install qemu-system-x86 qemu-utils',
      passt: 'sudo apt-get install passt',
      ovmf: 'sudo apt-get install ovmf',
      bridgeHelper: 'sudo apt-get install qemu-system-common',
      virtiofsd: 'sudo apt-get install virtiofsd',
    };
  }
  if (family.includes('fedora') || family.includes('rhel')) {
    return {
      libvirt: 'sudo dnf install libvirt-daemon-driver-qemu libvirt-daemon-common libvirt-client',
      qemu: 'sudo dnf install qemu-system-x86-core qemu-img',
      passt: 'sudo dnf install passt',
      ovmf: 'sudo dnf install edk2-ovmf',
      bridgeHelper: 'sudo dnf install qemu-common',
      virtiofsd: 'sudo dnf install virtiofsd',
    };
  }
  // Elsewhere the setup script says what to install (it knows no package names for this distribution).
  const generic = setupScript ?? 'install libvirt >= 10 with the QEMU driver, QEMU >= 7.2, passt and OVMF';
  return {
    libvirt: generic,
    qemu: generic,
    passt: generic,
    ovmf: generic,
    bridgeHelper: generic,
    virtiofsd: 'install virtiofsd (for shared folders)',
  };
}
