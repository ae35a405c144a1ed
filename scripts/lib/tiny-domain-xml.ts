// Domain XML for the tiny test guest, shared by `npm run demo` and the integration tests until the typed
// domain builder (src/domain-xml) takes over. Direct kernel boot, one passt NIC with port forwards, serial
// console logged to a file. TCG unless told otherwise: see src/host/accel.ts.

export interface PortForward {
  proto: 'tcp' | 'udp';
  /** Host address to listen on; roost's default is loopback only. */
  address: string;
  hostPort: number;
  guestPort: number;
}

export interface TinyDomainOptions {
  name: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  forwards: PortForward[];
  /** File that receives everything the guest writes to its serial console. */
  serialLog?: string;
  memoryMiB?: number;
  accel?: 'kvm' | 'tcg';
  /** Free text recorded in <description>, e.g. who made the domain. */
  description?: string;
}

export function tinyDomainXml(o: TinyDomainOptions): string {
  const forwards = o.forwards
    .map(
      (f) =>
        `      <portForward proto='${f.proto}' address='${esc(f.address)}'>\n` +
        `        <range start='${f.hostPort}' to='${f.guestPort}'/>\n` +
        `      </portForward>`,
    )
    .join('\n');
  const log = o.serialLog ? `\n      <log file='${esc(o.serialLog)}' append='off'/>` : '';
  return `<domain type='${o.accel === 'kvm' ? 'kvm' : 'qemu'}'>
  <name>${esc(o.name)}</name>
  <description>${esc(o.description ?? 'roost tiny guest')}</description>
  <memory unit='MiB'>${o.memoryMiB ?? 256}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${esc(o.kernel)}</kernel>
    <initrd>${esc(o.initrd)}</initrd>
    <cmdline>${esc(o.cmdline)}</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <interface type='user'>
      <backend type='passt'/>
      <model type='virtio'/>
${forwards}
    </interface>
    <serial type='pty'>${log}
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

function esc(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
