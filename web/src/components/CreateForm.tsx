// A new VM: from a disk image (a path, or a catalogue name when images are available) with its login (user,
// ssh key) and the user's own cloud-config, an installer ISO, or a kernel; CPUs, memory, disk and ports. The
// same request `roost create` makes; phases come as events.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { onEvent } from '../live.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';
import type { CreatedVm, ImageListing } from '../../../src/shared/api-types.js';

type Source = 'image' | 'iso' | 'kernel';

export function CreateForm({ onCreated, image }: { onCreated: (vm: CreatedVm) => void; image?: string }) {
  const [source, setSource] = useState<Source>('image');
  const [images, setImages] = useState<ImageListing[]>([]);
  const [phase, setPhase] = useState<string | null>(null);
  const [error, setError] = useState<Failure>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.images().then(setImages, () => setImages([]));
  }, []);

  const submit = async (form: HTMLFormElement) => {
    const f = new FormData(form);
    const text = (k: string) => {
      const v = String(f.get(k) ?? '').trim();
      return v === '' ? undefined : v;
    };
    const name = text('name')!;
    const body: Record<string, unknown> = {
      name,
      memory: text('memory'),
      cpus: text('cpus'),
      disk: text('disk'),
      ports: (text('ports') ?? '').split(/[\s,]+/).filter(Boolean),
      // As `--network` repeated: one NIC each, the first with the default route; none given is passt alone.
      network: (text('networks') ?? '').split(/[\s,]+/).filter(Boolean),
      start: f.get('start') === 'on',
    };
    if (source === 'image') {
      body.image = text('image');
      body.sshUser = text('sshUser');
      body.sshKey = text('sshKey');
      body.cloudConfig = text('cloudConfig');
    }
    if (source === 'iso') body.iso = text('iso');
    if (source === 'kernel') {
      body.kernel = text('kernel');
      body.initrd = text('initrd');
      body.cmdline = text('cmdline');
    }
    setBusy(true);
    setError(null);
    const stop = onEvent((e) => {
      if (e.type === 'create' && e.name === name) setPhase(e.phase);
    });
    try {
      onCreated(await api.create(body));
    } catch (e) {
      setError(asFailure(e));
    } finally {
      stop();
      setBusy(false);
      setPhase(null);
    }
  };

  return (
    <form
      class="create"
      onSubmit={(e) => {
        e.preventDefault();
        void submit(e.currentTarget);
      }}
    >
      <h2>New machine</h2>
      <label>
        Name
        <input name="name" required maxLength={63} pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" placeholder="web1" />
      </label>
      <fieldset>
        <legend>Boot from</legend>
        {(['image', 'iso', 'kernel'] as const).map((s) => (
          <label class="inline" key={s}>
            <input
              type="radio"
              name="source"
              value={s}
              checked={source === s}
              onChange={() => setSource(s)}
            />
            {s === 'image' ? 'Disk image' : s === 'iso' ? 'Installer ISO' : 'Kernel'}
          </label>
        ))}
      </fieldset>
      {source === 'image' && (
        <label>
          Image (a path on this host{images.length ? ', or a name from the catalogue' : ''})
          <input
            name="image"
            required
            list="image-names"
            placeholder="~/images/debian-12.qcow2"
            defaultValue={image}
          />
          <datalist id="image-names">
            {images.map((i) => (
              <option key={i.name} value={i.name}>
                {i.os}
                {i.cached ? ' (downloaded)' : ''}
              </option>
            ))}
          </datalist>
        </label>
      )}
      {source === 'image' && <CloudFields />}
      {source === 'iso' && (
        <label>
          ISO path
          <input name="iso" required placeholder="/home/me/debian-12-netinst.iso" />
        </label>
      )}
      {source === 'kernel' && (
        <>
          <label>
            Kernel path
            <input name="kernel" required />
          </label>
          <label>
            Initrd path
            <input name="initrd" />
          </label>
          <label>
            Kernel command line
            <input name="cmdline" placeholder="console=ttyS0" />
          </label>
        </>
      )}
      <div class="grid3">
        <label>
          CPUs
          <input name="cpus" type="number" min={1} max={512} defaultValue="2" />
        </label>
        <label>
          Memory
          <input name="memory" defaultValue="2G" />
        </label>
        <label>
          Disk
          <input name="disk" placeholder="default" />
        </label>
      </div>
      <label>
        Ports <span class="muted">(space separated, e.g. 8080:80 2222:22)</span>
        <input name="ports" placeholder="8080:80" />
      </label>
      <label>
        Networks{' '}
        <span class="muted">
          (space separated: user = passt with the ports above, bridge=virbr0 = an address on that bridge)
        </span>
        <input name="networks" placeholder="user" />
      </label>
      <label class="inline">
        <input type="checkbox" name="start" defaultChecked /> Start it now
      </label>
      <div class="row">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? `Creating${phase ? ` (${phase})` : ''}…` : 'Create'}
        </button>
      </div>
      <ErrorText error={error} />
    </form>
  );
}

/** What a cloud image's seed gets: the login user, the key authorised for it, and cloud-config of one's own. */
function CloudFields() {
  return (
    <fieldset>
      <legend>Login and cloud-init</legend>
      <div class="grid3">
        <label>
          Login user
          <input name="sshUser" placeholder="the image's (debian, ubuntu…)" pattern="[a-z_][a-z0-9_\-]*" />
        </label>
        <label class="span2">
          SSH public key file <span class="muted">(a path on this host; default ~/.ssh/id_*.pub)</span>
          <input name="sshKey" placeholder="/home/me/.ssh/id_ed25519.pub" />
        </label>
      </div>
      <label>
        Cloud-config{' '}
        <span class="muted">
          (YAML merged into roost's, as <code>--cloud-init FILE</code>)
        </span>
        <textarea
          name="cloudConfig"
          rows={5}
          spellcheck={false}
          placeholder={'#cloud-config\npackages: [nginx]\nruncmd:\n  - systemctl enable --now nginx'}
        />
      </label>
    </fieldset>
  );
}
