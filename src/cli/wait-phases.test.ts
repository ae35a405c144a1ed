import { describe, expect, it } from 'vitest';
import type { PhaseReporter } from '../term/phases.js';
import { reportWaitPhases } from './wait-phases.js';

function recorder(): PhaseReporter & { labels: string[] } {
  const labels: string[] = [];
  return { labels, phase: (l) => labels.push(l), done: () => {}, fail: () => {} };
}

describe('reportWaitPhases', () => {
  it('names the first boot for create and a plain cloud-init wait for a later start', () => {
    const create = recorder();
    const onCreate = reportWaitPhases(create, { kind: 'ssh' }, 'first');
    onCreate('booting');
    onCreate('cloud-init');
    expect(create.labels).toEqual([
      'booting (until its sshd answers)',
      'cloud-init (first boot: user, ssh key)',
    ]);

    const start = recorder();
    const onStart = reportWaitPhases(start, { kind: 'ssh' }, 'later');
    onStart('booting');
    onStart('cloud-init');
    expect(start.labels).toEqual(['booting (until its sshd answers)', 'cloud-init (until it reports done)']);
  });

  it('starts the port phase at once for --wait port', () => {
    const r = recorder();
    reportWaitPhases(r, { kind: 'port', port: 8080 }, 'later');
    expect(r.labels).toEqual(['waiting for guest port 8080']);
  });
});
