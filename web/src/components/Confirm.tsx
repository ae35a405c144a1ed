// A confirmation dialog for what cannot be undone (force off, delete): a modal <dialog>, so focus is trapped,
// Escape cancels and the safe choice has the focus.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useRef, useState } from 'preact/hooks';

interface Ask {
  title: string;
  body: string;
  action: string;
}
type ConfirmFn = (ask: Ask) => Promise<boolean>;

const Ctx = createContext<ConfirmFn>(() => Promise.resolve(false));

export function useConfirm(): ConfirmFn {
  return useContext(Ctx);
}

export function ConfirmProvider({ children }: { children: ComponentChildren }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [ask, setAsk] = useState<Ask | null>(null);
  const resolver = useRef<((ok: boolean) => void) | null>(null);

  const confirm: ConfirmFn = (a) => {
    setAsk(a);
    queueMicrotask(() => dialog.current?.showModal());
    return new Promise((resolve) => (resolver.current = resolve));
  };
  const finish = (ok: boolean) => {
    dialog.current?.close();
    resolver.current?.(ok);
    resolver.current = null;
  };

  return (
    <Ctx.Provider value={confirm}>
      {children}
      <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" onCancel={() => finish(false)}>
        <h2 id="confirm-title">{ask?.title}</h2>
        <p>{ask?.body}</p>
        <div class="row end">
          <button type="button" autofocus onClick={() => finish(false)}>
            Cancel
          </button>
          <button type="button" class="danger" onClick={() => finish(true)}>
            {ask?.action}
          </button>
        </div>
      </dialog>
    </Ctx.Provider>
  );
}
