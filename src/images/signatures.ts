// Magic numbers, read from a file's first bytes: what makes a file a plausible raw disk (a boot sector, a
// partition table, a filesystem), what marks an ISO, and the formats roost does not take (so their refusal can
// name them). Pure functions of a Buffer holding the file's start.

interface Magic {
  offset: number;
  bytes: Buffer;
}

const at = (offset: number, bytes: string | number[]): Magic => ({
  offset,
  bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes),
});

function matches(head: Buffer, m: Magic): boolean {
  return (
    head.length >= m.offset + m.bytes.length &&
    head.subarray(m.offset, m.offset + m.bytes.length).equals(m.bytes)
  );
}

/** Something a raw disk or a bare filesystem image starts with. */
const DISK_SIGNATURES: Magic[] = [
  at(510, [0x55, 0xaa]), // MBR / boot sector (FAT, NTFS, GPT's protective MBR, hybrid ISOs)
  at(512, 'EFI PART'), // GPT, 512-byte sectors
  at(4096, 'EFI PART'), // GPT, 4 KiB sectors
  at(1080, [0x53, 0xef]), // ext2/3/4
  at(0, 'XFSB'),
  at(0x10040, '_BHRfS_M'), // btrfs
  at(0, 'hsqs'), // squashfs
  at(1024, [0x10, 0x20, 0xf5, 0xf2]), // f2fs
  at(1024, [0xe2, 0xe1, 0xf5, 0xe0]), // erofs
  at(512, 'LABELONE'), // LVM physical volume
  at(0x8001, 'CD001'), // ISO 9660
  at(0x8001, 'BEA01'), // UDF
];

/** Bytes of a file's start that `hasDiskSignature` looks at. */
export const RAW_SIGNATURE_SPAN = 0x10040 + 8;

export function hasDiskSignature(head: Buffer): boolean {
  return DISK_SIGNATURES.some((m) => matches(head, m));
}

export function isIsoImage(head: Buffer): boolean {
  return matches(head, at(0x8001, 'CD001')) || matches(head, at(0x8001, 'BEA01'));
}

const OTHER_FORMATS: { magic: Magic; what: string; hint?: string }[] = [
  { magic: at(0, 'KDMV'), what: 'a VMDK image' },
  { magic: at(0, '# Disk DescriptorFile'), what: 'a VMDK descriptor (it names other files)' },
  { magic: at(0x40, [0x7f, 0x10, 0xda, 0xbe]), what: 'a VDI (VirtualBox) image' },
  { magic: at(0, 'vhdxfile'), what: 'a VHDX image' },
  { magic: at(0, 'conectix'), what: 'a VHD image' },
  { magic: at(0, 'QED\0'), what: 'a QED image' },
  {
    magic: at(0, 'LUKS\xba\xbe'),
    what: 'a LUKS-encrypted volume',
    hint: 'roost cannot give QEMU its passphrase',
  },
  {
    magic: at(0, [0x1f, 0x8b]),
    what: 'gzip-compressed',
    hint: 'name it .gz and use roost image import, or decompress it first',
  },
  {
    magic: at(0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
    what: 'xz-compressed',
    hint: 'name it .xz and use roost image import, or decompress it first',
  },
  {
    magic: at(0, [0x28, 0xb5, 0x2f, 0xfd]),
    what: 'zstd-compressed',
    hint: 'name it .zst and use roost image import, or decompress it first',
  },
];

/** A disk-image (or compressed) format that is neither qcow2 nor raw, named for the refusal. */
export function detectOtherFormat(head: Buffer): { what: string; hint?: string } | undefined {
  const f = OTHER_FORMATS.find((o) => matches(head, o.magic));
  return f && { what: f.what, hint: f.hint };
}
