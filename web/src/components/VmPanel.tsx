// One VM: its details (shared folders too) and addresses, its use over the last 10 minutes, its port forwards,
// its logs, and its consoles (loaded only when opened).
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { MountRow, VmAddresses, VmInfo, VmStats, VmSummary } from '../../../src/shared/api-types.js';
import { UsageCharts } from './Charts.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';
import { PortEditor } from './PortEditor.js';
import { isUp } from './VmActions.js';
import { StateBadge } from './VmList.js';
import { VmLogs } from './VmLogs.js';
import { VmFile } from './VmFile.js';
import { VmState } from './VmState.js';

// Each console is its own chunk: xterm.js and noVNC are fetched the first time one is opened.
const SerialConsole = lazy(() => import('./SerialConsole.js'));
const VncConsole = lazy(() => import('./VncConsole.js'));

type Tab = 'overview' | 'usage' | 'ports' | 'state' | 'logs' | 'serial' | 'vnc' | 'file';

export function VmPanel(props: { vm: VmSummary; samples: readonly VmStats[]; onClose: () => void }) {
  const { vm, onClose } = props;
  const [tab, setTab] = useState<Tab>('overview');
  const up = isUp(vm.state);
  const button = (id: Tab, label: string, disabled = false) => (
    <button
      type="button"
      role="tab"
      aria-selected={tab === id}
      class={tab === id ? 'tab active' : 'tab'}
      disabled={disabled}
      title={disabled ? 'the VM is not running' : undefined}
      onClick={() => setTab(id)}
    >
      {label}
    </button>
  );
  return (
    <section class="panel" aria-label={`VM ${vm.name}`} data-panel={vm.name}>
      <header class="row">
        <h2>
          {vm.name} <StateBadge state={vm.state} />
        </h2>
        <button type="button" class="close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </header>
      <div role="tablist" aria-label={`${vm.name} views`} class="subtabs">
        {button('overview', 'Overview')}
        {button('usage', 'Usage')}
        {button('ports', 'Ports')}
        {button('state', 'Snapshots & clone')}
        {button('logs', 'Logs')}
        {button('serial', 'Serial console', !up)}
        {button('vnc', 'Graphical console', !up)}
        {button('file', 'File')}
      </div>
      <div class="panel-body">
        {tab === 'overview' && <Overview vm={vm} />}
        {tab === 'usage' && <UsageCharts samples={props.samples} running={vm.state === 'running'} />}
        {tab === 'ports' && <PortEditor vm={vm} />}
        {tab === 'state' && <VmState vm={vm} />}
        {tab === 'logs' && <VmLogs vm={vm} />}
        {tab === 'file' && <VmFile name={vm.name} />}
        <Suspense fallback={<p>Loading the console…</p>}>
          {tab === 'serial' && up && <SerialConsole name={vm.name} />}
          {tab === 'vnc' && up && <VncConsole name={vm.name} />}
        </Suspense>
        {(tab === 'serial' || tab === 'vnc') && !up && <p class="muted">Start the VM to use its console.</p>}
      </div>
    </section>
  );
}

function Overview({ vm }: { vm: VmSummary }) {
  const [details, setDetails] = useState<VmInfo | null>(null);
  const [addrs, setAddrs] = useState<VmAddresses | null>(null);
  const [error, setError] = useState<Failure>(null);
  const fail = (e: unknown) => setError(asFailure(e));
  useEffect(() => {
    api.vm(vm.name).then(setDetails, fail);
  }, [vm.name, vm.state]);
  return (
    <div>
      <ErrorText error={error} />
      <dl class="facts">
        <dt>Acceleration</dt>
        <dd>{vm.accel}</dd>
        <dt>Networks</dt>
        <dd>{vm.networks.join(', ') || '—'}</dd>
        <dt>Boot</dt>
        <dd>{details ? `${details.boot} (${details.firmware})` : '…'}</dd>
        <dt>IP address</dt>
        <dd data-testid="ip">
          {details
            ? details.ip
              ? // Where it came from, as `roost info` says it (agent, lease file, ARP…).
                `${details.ip} (${details.ipSource?.source ?? '?'})`
              : vm.state === 'running'
                ? 'none found'
                : '—'
            : '…'}
        </dd>
        <dt>Disks</dt>
        <dd>
          {details
            ? details.disks.map((d) => (
                <div key={d.target ?? d.path}>
                  <code>{d.path ?? '(none)'}</code> {d.device}
                  {d.format ? ` (${d.format})` : ''}
                  {d.readonly ? ', read-only' : ''}
                </div>
              ))
            : '…'}
        </dd>
        <dt>Shared folders</dt>
        <dd data-testid="mounts">{details ? <Mounts mounts={details.mounts} /> : '…'}</dd>
        <dt>Created</dt>
        <dd>{details?.roost?.createdAt ?? (details ? 'not by roost' : '…')}</dd>
        {details?.roost?.imageRef && (
          <>
            <dt>Image</dt>
            <dd>
              <code>{details.roost.imageRef}</code>
            </dd>
          </>
        )}
        {details?.roost?.sshUser && (
          <>
            <dt>Login</dt>
            <dd>
              <code>roost ssh {vm.name}</code> (user {details.roost.sshUser})
            </dd>
          </>
        )}
        <dt>Serial log</dt>
        <dd>{details ? details.serialLog ? <code>{details.serialLog}</code> : '—' : '…'}</dd>
        <dt>Addresses</dt>
        <dd>
          {addrs ? (
            <span data-testid="addresses">
              {[
                // Where each came from, as `roost ip` says it (agent, lease file, ARP…).
                ...addrs.nics.flatMap((n) => n.addresses.map((a) => `${a.ip} (${a.source})`)),
                ...addrs.nics.flatMap((n) => (n.endpoints ?? []).map((e) => `${e} (forwarded port)`)),
              ].join(', ') || 'none found'}
            </span>
          ) : (
            <button type="button" onClick={() => api.ip(vm.name).then(setAddrs, fail)}>
              Look up addresses
            </button>
          )}
        </dd>
      </dl>
    </div>
  );
}

/** The VM's shared folders as `roost info` shows them: host dir → guest dir (mode, type, tag). */
function Mounts({ mounts }: { mounts: MountRow[] }) {
  if (mounts.length === 0) return <>none</>;
  return (
    <>
      {mounts.map((m) => (
        <div key={m.tag} data-mount={m.tag}>
          <code>{m.hostDir}</code> → <code>{m.guestDir ?? '(not recorded)'}</code> ({m.mode}, {m.type}, tag{' '}
          {m.tag})
        </div>
      ))}
    </>
  );
}
