// The API's wire shapes (docs/api.md), as the page uses them. The shared ones come from src/shared/api-types.ts,
// a leaf module with no Node imports, so server and page cannot drift apart; the rest are the page's own views.
export type {
  ForwardState,
  PortList,
  PortRow,
  RoostEvent,
  VmDetails,
  VmLifecycleEvent,
  VmState,
  VmSummary,
} from '../../src/shared/api-types.js';
import type { VmState } from '../../src/shared/api-types.js';
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
    addresses: { ip: string; source: string; where?: string }[];
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
