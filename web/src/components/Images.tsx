// The image catalogue, as `roost image ls`: what can be downloaded and what is cached. Pull starts a download
// on the server (POST /api/images/pull answers at once); its progress, verification and end come as `image`
// events on the page's stream, drawn as a progress bar. A cached image makes a new VM in one click.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { onEvent } from '../live.js';
import { formatBytes } from '../../../src/shared/plot.js';
import type { ImageEvent, ImageListing } from '../../../src/shared/api-types.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

/** Where a download stands, from its last event. */
type Pull = Pick<ImageEvent, 'phase' | 'receivedBytes' | 'totalBytes' | 'message'>;

export function Images({ onCreateFrom }: { onCreateFrom: (image: string) => void }) {
  const [images, setImages] = useState<ImageListing[] | null>(null);
  const [pulls, setPulls] = useState<Record<string, Pull>>({});
  const [error, setError] = useState<Failure>(null);
  const load = () => api.images().then(setImages, (e: unknown) => setError(asFailure(e)));
  useEffect(() => {
    void load();
    return onEvent((e) => {
      if (e.type !== 'image') return;
      setPulls((p) => ({ ...p, [e.ref]: { ...p[e.ref], ...e } }));
      if (e.phase === 'done') void load();
    });
  }, []);

  const pull = (name: string) => {
    setError(null);
    setPulls((p) => ({ ...p, [name]: { phase: 'requested' } }));
    api.pullImage(name).catch((e: unknown) => {
      setPulls((p) => {
        const next = { ...p };
        delete next[name];
        return next;
      });
      setError(asFailure(e));
    });
  };

  if (!images) return <ErrorText error={error} />;
  return (
    <div class="images-view">
      <h2>Images</h2>
      <p class="muted">
        The catalogue and your downloads, as <code>roost image ls</code>; downloads are verified against the
        image's published checksum.
      </p>
      <ErrorText error={error} />
      <table class="images">
        <caption class="sr-only">Images</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">System</th>
            <th scope="col">Login</th>
            <th scope="col">Downloaded</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {images.map((i) => (
            <tr key={i.name} data-image={i.name} data-cached={i.cached}>
              <th scope="row" data-label="Name">
                <code>{i.name}</code>
                {i.aliases.length > 0 && <span class="muted"> ({i.aliases.join(', ')})</span>}
              </th>
              <td data-label="System">{i.os}</td>
              <td data-label="Login">{i.user}</td>
              <td data-label="Downloaded">
                <PullState image={i} pull={pulls[i.name]} />
              </td>
              <td data-label="Actions" class="actions">
                {!i.cached && !i.importOnly && (
                  <button
                    type="button"
                    aria-label={`Pull ${i.name}`}
                    disabled={busy(pulls[i.name])}
                    onClick={() => pull(i.name)}
                  >
                    Pull
                  </button>
                )}
                <button
                  type="button"
                  aria-label={`New VM from ${i.name}`}
                  onClick={() => onCreateFrom(i.name)}
                >
                  New VM…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const busy = (p: Pull | undefined) => p !== undefined && p.phase !== 'done' && p.phase !== 'failed';

function PullState({ image, pull }: { image: ImageListing; pull: Pull | undefined }) {
  if (pull && busy(pull)) {
    const { receivedBytes: got, totalBytes: total } = pull;
    const words =
      pull.phase === 'progress' && got !== undefined
        ? `${formatBytes(got)}${total ? ` of ${formatBytes(total)}` : ''}`
        : pull.phase === 'verify'
          ? 'verifying the checksum…'
          : `${pull.phase}…`;
    return (
      <span class="pull" data-pull={pull.phase}>
        <progress
          max={total ?? 1}
          value={got ?? undefined}
          aria-label={`Downloading ${image.name}: ${words}`}
        />{' '}
        <span role="status">{words}</span>
      </span>
    );
  }
  if (pull?.phase === 'failed') {
    return (
      <span class="error" role="alert" data-pull="failed">
        failed: {pull.message}
      </span>
    );
  }
  if (image.cached)
    return <span data-pull="cached">yes{image.size ? `, ${formatBytes(image.size)}` : ''}</span>;
  return <span class="muted">{image.importOnly ? 'import only (roost image import)' : 'no'}</span>;
}
