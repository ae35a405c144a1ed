// How roost top and roost stats show VM stats to a person: one table row per VM, or one VM's lines.
import type { VmStats } from '../shared/stats.js';
import { formatBytes } from '../term/bytes.js';
import { safeForTerminal } from '../term/sanitize.js';
import { renderTable } from '../term/table.js';

const dash = '-';
const pct = (v: number | null) => (v === null ? dash : `${v.toFixed(1)}%`);
const mib = (v: number | null) => (v === null ? dash : formatBytes(v * 1024 * 1024));
const rate = (v: number | null) => (v === null ? dash : `${formatBytes(v)}/s`);

/** The MEM column: the QEMU process's resident memory when libvirt reports it, else the balloon's size. */
export function memoryText(s: VmStats): string {
  const m = s.memory;
  const size = m.rssMiB ?? m.currentMiB;
  return m.maxMiB === null ? mib(size) : `${mib(size)} / ${mib(m.maxMiB)}`;
}

/** The table of roost top, VM names escaped (anyone in the session may have named a domain). */
export function renderStatsTable(rows: VmStats[]): string {
  if (rows.length === 0) return 'no running VMs';
  return renderTable(
    ['NAME', 'CPU', 'VCPUS', 'MEM (RSS / MAX)', 'GUEST USED', 'DISK R', 'DISK W', 'NET RX', 'NET TX'],
    rows.map((s) => [
      safeForTerminal(s.name),
      pct(s.cpuPercent),
      s.vcpus ?? dash,
      memoryText(s),
      mib(s.memory.usedMiB),
      rate(s.disk.inPerSecond),
      rate(s.disk.outPerSecond),
      rate(s.net.inPerSecond),
      rate(s.net.outPerSecond),
    ]),
  );
}

/** roost stats NAME for a person: one fact a line. */
export function renderOneVm(s: VmStats): string {
  const m = s.memory;
  return [
    `name:         ${safeForTerminal(s.name)} (${s.state})`,
    `cpu:          ${pct(s.cpuPercent)} of one host CPU, ${s.cpuSeconds.toFixed(1)} s used, ${s.vcpus ?? dash} vCPUs`,
    `memory:       balloon ${mib(m.currentMiB)} of ${mib(m.maxMiB)}, QEMU RSS ${mib(m.rssMiB)}, guest uses ${mib(m.usedMiB)}`,
    `disk:         read ${rate(s.disk.inPerSecond)}, write ${rate(s.disk.outPerSecond)} (${formatBytes(s.disk.inBytes)} / ${formatBytes(s.disk.outBytes)} since start)`,
    `network:      rx ${rate(s.net.inPerSecond)}, tx ${rate(s.net.outPerSecond)} (${formatBytes(s.net.inBytes)} / ${formatBytes(s.net.outBytes)} since start)`,
  ].join('\n');
}
