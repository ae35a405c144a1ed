// A VM's file: what `roost export NAME` prints — the YAML that `roost apply` (or "Apply a file") turns back into
// this VM — read-only, with a button to copy it, and what the file cannot describe.
import { useEffect, useState } from 'preact/hooks';
import { declarativeApi } from '../declarative-api.js';
import type { ExportedFile } from '../../../src/shared/api-types.js';
import { asFailure, ErrorText, type Failure } from './ErrorText.js';

export function VmFile({ name }: { name: string }) {
  const [file, setFile] = useState<ExportedFile | null>(null);
  const [error, setError] = useState<Failure>(null);
  const [copied, setCopied] = useState<string | null>(null);
  useEffect(() => {
    declarativeApi.exportVm(name).then(setFile, (e) => setError(asFailure(e)));
  }, [name]);
  const copy = () => {
    if (!file) return;
    // The clipboard needs a secure context (127.0.0.1 is one); where it is refused, the text stays selectable.
    navigator.clipboard.writeText(file.text).then(
      () => setCopied('Copied.'),
      () => setCopied('The browser refused the clipboard: select the text and copy it.'),
    );
  };
  if (error) return <ErrorText error={error} prefix="The VM's file could not be made" />;
  if (!file) return <p>Reading the VM…</p>;
  return (
    <div class="vm-file">
      <p class="muted">
        The file <code>roost apply</code> makes this VM from (<code>roost export {name}</code>). Keep it in a
        repository; apply it here with “Apply a file…”, or with <code>roost apply</code>.
      </p>
      {file.warnings.map((w) => (
        <p key={w} class="warn">
          {w}
        </p>
      ))}
      <div class="row">
        <button type="button" onClick={copy}>
          Copy
        </button>
        {copied && <span role="status">{copied}</span>}
      </div>
      <textarea
        class="yaml"
        readOnly
        data-testid="vm-file"
        aria-label={`The VM file of ${name}`}
        rows={Math.min(30, file.text.split('\n').length + 1)}
        value={file.text}
      />
    </div>
  );
}
