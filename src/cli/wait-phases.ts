// The phase lines `create` and `start` show while --wait waits: one for a guest port, or booting then cloud-init
// for ssh (the steps waitUntilReady reports).
import type { PhaseReporter } from '../term/phases.js';
import type { WaitFor, WaitStep } from '../vm/wait.js';

/** Starts the port phase now; returns the step callback for waitUntilReady. */
export function reportWaitPhases(progress: PhaseReporter, wait: WaitFor): (step: WaitStep) => void {
  if (wait.kind === 'port') progress.phase(`waiting for guest port ${wait.port}`);
  return (step) =>
    progress.phase(
      step === 'booting' ? 'booting (until its sshd answers)' : 'cloud-init (first boot: user, ssh key)',
    );
}
