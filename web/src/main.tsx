// roost's browser console: VMs with live state and use, their ports, logs and consoles, the image catalogue, a
// create form and the host check.
import { render } from 'preact';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api, login, onLoggedOut, takeLoginSecret } from './api.js';
import { ApplyDialog } from './components/ApplyDialog.js';
import { ConfirmProvider } from './components/Confirm.js';
import { CreateForm } from './components/CreateForm.js';
import { Doctor } from './components/Doctor.js';
import { ErrorText } from './components/ErrorText.js';
import { Hosts } from './components/Hosts.js';
import { Images } from './components/Images.js';
import { VmList } from './components/VmList.js';
import { VmPanel } from './components/VmPanel.js';
import { linkText, useLive } from './live.js';
import './styles.css';
import type { ConnectionInfo, CreatedVm } from '../../src/shared/api-types.js';

type View = 'vms' | 'hosts' | 'images' | 'create' | 'doctor';

function App() {
  const live = useLive();
  const [view, setView] = useState<View>('vms');
  const [selected, setSelected] = useState<string | null>(null);
  const [conn, setConn] = useState<ConnectionInfo | null>(null);
  // The image the create form starts with, when it was opened from the image list.
  const [fromImage, setFromImage] = useState<string | undefined>(undefined);
  // What the last create from the form said beyond "done": its warnings, and why it runs without KVM.
  const [created, setCreated] = useState<CreatedVm | null>(null);
  // Asked once the list is in: a fresh daemon can take a while over QEMU's version, which the rows need not wait on.
  const isLive = live.link === 'live';
  useEffect(() => {
    if (isLive && !conn) api.connection().then(setConn, () => {});
  }, [isLive]);
  const vm = live.vms.find((v) => v.name === selected) ?? null;

  const tab = (id: View, label: string) => (
    <button
      type="button"
      role="tab"
      id={`tab-${id}`}
      aria-selected={view === id}
      aria-controls={`view-${id}`}
      class={view === id ? 'tab active' : 'tab'}
      onClick={() => setView(id)}
    >
      {label}
    </button>
  );

  return (
    <ConfirmProvider>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <h1>roost</h1>
        <span
          class="conn"
          title={
            conn ? `roost ${conn.roostVersion}, libvirt ${conn.libvirtVersion}, QEMU ${conn.qemuVersion}` : ''
          }
        >
          {conn ? `${conn.uri} on ${conn.hostname}` : ''}
        </span>
        <span class={`link link-${live.link}`} role="status" data-link={live.link}>
          {linkText(live.link)}
        </span>
        <NewTabButton />
      </header>
      <nav role="tablist" aria-label="Sections">
        {tab('vms', 'Machines')}
        {tab('hosts', 'All hosts')}
        {tab('images', 'Images')}
        {tab('create', 'New machine')}
        {tab('doctor', 'Host check')}
      </nav>
      <main id="main">
        <ErrorText error={live.error} />
        {view === 'vms' && (
          <section id="view-vms" role="tabpanel" aria-labelledby="tab-vms">
            {created && <CreatedNote vm={created} onClose={() => setCreated(null)} />}
            <ApplyDialog />
            <VmList vms={live.vms} selected={selected} onSelect={setSelected} stats={live.stats} />
            {vm && (
              <VmPanel
                key={vm.name}
                vm={vm}
                samples={live.stats[vm.name] ?? []}
                onClose={() => setSelected(null)}
              />
            )}
          </section>
        )}
        {view === 'hosts' && (
          <section id="view-hosts" role="tabpanel" aria-labelledby="tab-hosts">
            <Hosts local={live.vms} />
          </section>
        )}
        {view === 'images' && (
          <section id="view-images" role="tabpanel" aria-labelledby="tab-images">
            <Images
              onCreateFrom={(image) => {
                setFromImage(image);
                setView('create');
              }}
            />
          </section>
        )}
        {view === 'create' && (
          <section id="view-create" role="tabpanel" aria-labelledby="tab-create">
            <CreateForm
              key={fromImage}
              image={fromImage}
              onCreated={(vm) => {
                setCreated(vm);
                setSelected(vm.name);
                setView('vms');
              }}
            />
          </section>
        )}
        {view === 'doctor' && (
          <section id="view-doctor" role="tabpanel" aria-labelledby="tab-doctor">
            <Doctor />
          </section>
        )}
      </main>
    </ConfirmProvider>
  );
}

/** What `POST /api/vms` answered beyond the new row: the warnings `roost create` prints, and a TCG VM's reason. */
function CreatedNote({ vm, onClose }: { vm: CreatedVm; onClose: () => void }) {
  const lines = [...(vm.accel === 'tcg' ? [vm.accelReason] : []), ...vm.warnings];
  if (lines.length === 0) return null;
  return (
    <div class="created-note row" role="status" data-testid="created-note">
      <div>
        <strong>{vm.name} was created.</strong>
        {lines.map((l) => (
          <p key={l} class="warn">
            {l}
          </p>
        ))}
      </div>
      <button type="button" class="close" aria-label="Dismiss" onClick={onClose}>
        ×
      </button>
    </div>
  );
}

/** Opens the console in another tab: a fresh one-time login link (the session stays in this tab). */
function NewTabButton() {
  const [error, setError] = useState<string | null>(null);
  const open = () => {
    setError(null);
    api.newLink().then(
      ({ url }) => window.open(url, '_blank', 'noopener'),
      (e: Error) => setError(e.message),
    );
  };
  return (
    <button type="button" class="new-tab" onClick={open} title={error ?? 'Open the console in a new tab'}>
      New tab
    </button>
  );
}

function LoggedOut({ why }: { why: string }) {
  return (
    <main id="main" class="logged-out">
      <h1>roost: not logged in</h1>
      <p role="alert" data-testid="logged-out">
        {why}
      </p>
      <p>
        Open a login link: the one <code>roost web</code> printed, or a new one from{' '}
        <code>roost web link</code> (add <code>--open</code> to open it in your browser). Each link works
        once, for 5 minutes; after that, reloading this tab keeps it logged in.
      </p>
    </main>
  );
}

type LoginState = { state: 'checking' } | { state: 'in' } | { state: 'out'; why: string };

function Root() {
  const [auth, setAuth] = useState<LoginState>({ state: 'checking' });
  // A layout effect: the login request leaves at once, not a frame later (useEffect waits for the next paint).
  useLayoutEffect(() => {
    const off = onLoggedOut((why) => setAuth({ state: 'out', why }));
    const check = () =>
      void login().then((why) => setAuth(why === null ? { state: 'in' } : { state: 'out', why }));
    // A login link opened in a tab that already shows the page changes only the fragment.
    const onHash = () => {
      takeLoginSecret();
      check();
    };
    check();
    window.addEventListener('hashchange', onHash);
    return () => {
      off();
      window.removeEventListener('hashchange', onHash);
    };
  }, []);
  if (auth.state === 'checking') return null;
  if (auth.state === 'out') return <LoggedOut why={auth.why} />;
  return <App />;
}

// Before anything renders or loads: the login secret leaves the address bar first.
takeLoginSecret();
render(<Root />, document.getElementById('app')!);
