// The phase lines `create` and `start` show while --wait waits: one for a guest port, or booting then cloud-init
// for ssh (the steps waitUntilReady reports).
import type { PhaseReporter } from '../term/phases.js';
import type { WaitFor, WaitStep } from '../vm/wait.js';

/**
 * Which boot the wait follows: only a VM's first boot runs cloud-init's per-instance work (the user, the ssh
 * key, packages); on a later `start` cloud-init only has to report that it is done.
 */
export type WaitBoot = 'first' | 'later';

/** Starts the port phase now; returns the step callback for waitUntilReady. */
export function reportWaitPhases(
  progress: PhaseReporter,
  wait: WaitFor,
  boot: WaitBoot,
): (step: WaitStep) => void {
  if (wait.kind === 'port') progress.phase(`waiting for guest port ${wait.port}`);
  const cloudInit =
    boot === 'first' ? 'cloud-init (first boot: user, ssh key)' : 'cloud-init (until it reports done)';
  return (step) => progress.phase(step === 'booting' ? 'booting (until its sshd answers)' : cloudInit);
}
