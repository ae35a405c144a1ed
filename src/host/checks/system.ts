// Who runs roost, and which accelerator its VMs get.
import type { AccelDecision } from '../accel.js';
import type { CheckResult } from './types.js';

export function userCheck(uid: number, env: NodeJS.ProcessEnv): CheckResult {
  const base = { id: 'user', title: 'unprivileged user' };
  if (uid !== 0) return { ...base, status: 'ok', detail: `uid ${uid}${env.USER ? ` (${env.USER})` : ''}` };
  const sudoUser = env.SUDO_USER && env.SUDO_USER !== 'root' ? env.SUDO_USER : undefined;
  return {
    ...base,
    status: 'warn',
    detail:
      "running as root: roost is for unprivileged users, and root's qemu:///session is served by the system daemon (VMs would be root's)",
    ...(sudoUser ? { fix: `sudo -u ${sudoUser} -i roost doctor` } : {}),
  };
}

/** KVM is the fast path; TCG works (every test here boots under it) but is much slower, so it is a warning. */
export function accelCheck(decision: AccelDecision | Error, kvmGroupFix?: string): CheckResult {
  const base = { id: 'accel', title: 'KVM acceleration' };
  if (decision instanceof Error) {
    return { ...base, status: 'warn', detail: `could not probe KVM (${decision.message}): VMs will use TCG` };
  }
  const cached = decision.cached ? ' (cached for this boot)' : '';
  if (decision.accel === 'kvm') return { ...base, status: 'ok', detail: `kvm: ${decision.reason}${cached}` };
  return {
    ...base,
    status: 'warn',
    detail: `tcg: ${decision.reason}${cached}`,
    ...(kvmGroupFix && /not usable by this user/.test(decision.reason) ? { fix: kvmGroupFix } : {}),
  };
}
