// The API's wire shapes (docs/api.md), as the page uses them. The server's types live in src/ and pull in
// Node; the browser side keeps its own copy of the contract.
export type VmState =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

export interface VmSummary {
  name: string;
  uuid: string;
  state: VmState;
  accel: string;
  cpus: number;
  memoryMiB: number;
  ports: string[];
  networks: string[];
  managedBy: 'roost' | 'other';
}

export interface VmDetails extends VmSummary {
  id: number | null;
  disks: {
    path: string | null;
    format: string | null;
    device: string;
    target: string | null;
    readonly: boolean;
  }[];
  boot: string;
  firmware: string;
  serialLog: string | null;
  vncSocket: string | null;
  guestAgent: boolean;
  roost: { imageRef?: string; sshUser?: string; createdBy?: string; createdAt?: string } | null;
}

export interface PortRow {
  spec: string;
  proto: 'tcp' | 'udp';
  address: string;
  host: string;
  guest: string;
  state: 'active' | 'next-start' | 'removed-at-next-start' | 'configured';
  exposed: boolean;
}

export interface PortList {
  name: string;
  running: boolean;
  mac: string | null;
  ports: PortRow[];
}

export interface PortChangeResult {
  name: string;
  added: string[];
  removed: string[];
  applied: 'unchanged' | 'stopped' | 'live-update' | 'replug' | 'next-start';
  reason?: string;
  warnings: string[];
  ports: string[];
}

export interface VmAddresses {
  name: string;
  state: VmState;
  ip: string | null;
  nics: {
    mac: string | null;
    network: string;
    addresses: { ip: string; source?: string }[];
    endpoints?: string[];
  }[];
}

export interface CheckResult {
  id: string;
  title: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  checks: CheckResult[];
  ok: boolean;
}

export interface ImageListing {
  name: string;
  aliases: string[];
  os: string;
  cached: boolean;
  importOnly: boolean;
  size?: number;
}

export interface ConnectionInfo {
  roostVersion: string;
  uri: string;
  hostname: string;
  libvirtVersion: string;
  qemuVersion: string;
}

export type RoostEvent =
  | {
      type: 'vm';
      event: string;
      detail: string;
      name: string;
      uuid: string;
      time: number;
      vm?: VmDetails | null;
    }
  | { type: 'create'; name: string; phase: string; time: number }
  | { type: 'ports'; name: string; ports: string[]; time: number }
  | {
      type: 'image';
      ref: string;
      phase: string;
      receivedBytes?: number;
      totalBytes?: number;
      message?: string;
      time: number;
    }
  | { type: 'resync'; reason: string; time: number };
