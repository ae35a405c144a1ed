// Test support for the domain-xml unit tests: sample specs, libvirt's own schema check, and a canonical form
// for comparing documents by meaning. Not part of roost's public API (excluded from the build).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmSpec } from './spec.js';
import { parseXml, type XmlNode } from './xml.js';

/** A spec with every feature on: UEFI disk boot, a passt NIC with ports, serial log, VNC, agent, metadata. */
export function sampleSpec(overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    name: 'demo',
    uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
    accel: 'tcg',
    memoryMiB: 1024,
    cpus: 2,
    firmware: 'uefi',
    machine: 'q35',
    boot: { kind: 'disk' },
    disks: [{ path: '/home/u/.local/share/roost/pool/demo.qcow2', format: 'qcow2' }],
    network: [
      {
        kind: 'user',
        ports: [
          { proto: 'tcp', address: '127.0.0.1', hostStart: 2222, guestStart: 22 },
          { proto: 'tcp', address: '127.0.0.1', hostStart: 8000, hostEnd: 8010, guestStart: 9000 },
          { proto: 'udp', address: '', hostStart: 5353, guestStart: 53 },
        ],
      },
    ],
    serialLog: '/home/u/.local/state/roost/logs/demo.serial.log',
    vnc: { socket: '/run/user/1000/roost/demo.vnc' },
    guestAgent: true,
    roost: {
      createdBy: 'roost 0.1.0',
      createdAt: '2025-01-02T03:04:05.000Z',
      imageRef: 'debian-12',
      sshUser: 'debian',
      sshKeyPath: '/home/u/.ssh/id_ed25519.pub',
      autoPorts: true,
    },
    ...overrides,
  };
}

export interface SchemaResult {
  ok: boolean;
  output: string;
}

/** Runs libvirt's `virt-xml-validate FILE domain` on `xml` (no shell; the file lives in a private temp dir). */
export function validateWithLibvirt(xml: string): Promise<SchemaResult> {
  const dir = mkdtempSync(join(tmpdir(), 'roost-domain-xml-'));
  const file = join(dir, 'domain.xml');
  writeFileSync(file, xml, { mode: 0o600 });
  return new Promise((resolve) => {
    execFile('virt-xml-validate', [file, 'domain'], { timeout: 30_000 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ ok: err === null, output: `${stdout}${stderr}`.trim() });
    });
  });
}

type Canonical =
  string | { name: string; attrs: Record<string, string>; children: Canonical[] } | { pi: string };

function canonicalNode(node: XmlNode): Canonical | undefined {
  switch (node.type) {
    case 'text':
      return node.value.trim() === '' ? undefined : `text:${node.value}`;
    case 'cdata':
      return `text:${node.value}`;
    case 'comment':
      return `comment:${node.value}`;
    case 'pi':
      return { pi: node.name };
    case 'element': {
      const attrs: Record<string, string> = {};
      for (const key of [...node.attrs.keys()].sort()) attrs[key] = node.attrs.get(key) as string;
      const children = node.children.map(canonicalNode).filter((c): c is Canonical => c !== undefined);
      // Adjacent text (text + CDATA) is one string to an XML reader.
      const merged: Canonical[] = [];
      for (const child of children) {
        const last = merged[merged.length - 1];
        if (
          typeof child === 'string' &&
          typeof last === 'string' &&
          child.startsWith('text:') &&
          last.startsWith('text:')
        ) {
          merged[merged.length - 1] = last + child.slice(5);
        } else merged.push(child);
      }
      return { name: node.name, attrs, children: merged };
    }
  }
}

/**
 * A document's meaning as plain data: whitespace-only text (indentation) dropped, attributes sorted (their order
 * means nothing in XML), quoting and escaping gone. Two documents that compare equal here are the same to libvirt.
 */
export function canonical(xml: string): Canonical[] {
  return parseXml(xml)
    .nodes.map(canonicalNode)
    .filter((c): c is Canonical => c !== undefined);
}

/** One spec per boot kind, firmware, machine and network shape (plus hostile strings): the builder's test matrix. */
export function specCases(): Array<[string, VmSpec]> {
  const nasty = `a&b<c>d'e"f`;
  return [
    ['UEFI disk boot with passt ports (the default shape)', sampleSpec()],
    ['BIOS disk boot', sampleSpec({ firmware: 'bios' })],
    ['KVM', sampleSpec({ accel: 'kvm' })],
    ['without the CPU-probe override', sampleSpec({ quickCpuProbe: false })],
    [
      'direct kernel boot',
      sampleSpec({
        firmware: 'bios',
        machine: 'pc',
        boot: {
          kind: 'kernel',
          kernel: '/k/vmlinuz',
          initrd: '/k/initrd.img',
          cmdline: 'console=ttyS0 quiet',
        },
        disks: [],
      }),
    ],
    ['kernel boot without initrd or cmdline', sampleSpec({ boot: { kind: 'kernel', kernel: '/k/vmlinuz' } })],
    ['UEFI kernel boot', sampleSpec({ boot: { kind: 'kernel', kernel: '/k/vmlinuz', cmdline: '' } })],
    ['ISO install on q35', sampleSpec({ boot: { kind: 'cdrom', iso: '/isos/debian.iso' } })],
    [
      'cloud image with a cloud-init seed on virtio-scsi',
      sampleSpec({
        disks: [
          { path: '/pool/web.qcow2', format: 'qcow2' },
          { path: '/seeds/web.iso', format: 'raw', device: 'cdrom', readonly: true, bus: 'scsi' },
        ],
      }),
    ],
    [
      'ISO install on pc with a seed cdrom',
      sampleSpec({
        machine: 'pc',
        firmware: 'bios',
        boot: { kind: 'cdrom', iso: '/isos/debian.iso' },
        disks: [
          { path: '/d/root.qcow2', format: 'qcow2' },
          { path: '/d/seed.iso', format: 'raw', device: 'cdrom' },
        ],
      }),
    ],
    [
      'several disks, named targets and a read-only raw disk',
      sampleSpec({
        disks: [
          { path: '/d/a.qcow2', format: 'qcow2', target: 'vdb' },
          { path: '/d/b.raw', format: 'raw', readonly: true },
          { path: '/d/c.qcow2', format: 'qcow2', bus: 'scsi' },
          { path: '/d/seed.iso', format: 'raw', device: 'cdrom' },
        ],
      }),
    ],
    [
      'bridge NIC with a MAC',
      sampleSpec({ network: [{ kind: 'bridge', bridge: 'virbr0', mac: '52:54:00:aa:bb:cc' }] }),
    ],
    [
      'two NICs',
      sampleSpec({
        network: [
          {
            kind: 'user',
            ports: [{ proto: 'tcp', hostStart: 8080, guestStart: 80 }],
            mac: '52:54:00:00:00:01',
          },
          { kind: 'bridge', bridge: 'br-lan' },
        ],
      }),
    ],
    ['no network', sampleSpec({ network: [] })],
    ['passt without ports', sampleSpec({ network: [{ kind: 'user', ports: [] }] })],
    [
      'IPv6 and all-address forwards',
      sampleSpec({
        network: [
          {
            kind: 'user',
            ports: [
              { proto: 'tcp', address: '::1', hostStart: 8443, guestStart: 443 },
              { proto: 'udp', address: '', hostStart: 6000, hostEnd: 6005, guestStart: 6000 },
            ],
          },
        ],
      }),
    ],
    [
      'minimal: no serial log, VNC, agent, balloon, uuid or extra metadata',
      {
        name: 'min',
        accel: 'tcg',
        memoryMiB: 128,
        cpus: 1,
        firmware: 'bios',
        boot: { kind: 'disk' },
        disks: [{ path: '/d/min.raw', format: 'raw' }],
        network: [],
        vnc: null,
        guestAgent: false,
        memballoon: 'none',
        roost: { createdBy: 'roost test' },
      },
    ],
    [
      'escaping in every string',
      sampleSpec({
        name: nasty,
        boot: {
          kind: 'kernel',
          kernel: `/k/${nasty}`,
          initrd: `/k/${nasty}.img`,
          cmdline: `x="${nasty}" y='&amp;'`,
        },
        disks: [{ path: `/d/${nasty} ]]> &amp;.qcow2`, format: 'qcow2' }],
        serialLog: `/l/${nasty}.log`,
        vnc: { socket: `/s/${nasty}.sock` },
        roost: {
          createdBy: nasty,
          imageRef: `<!-- ${nasty} -->`,
          sshUser: 'a-b_c.d',
          sshKeyPath: `/k/${nasty}`,
        },
      }),
    ],
  ];
}
