// Applying a pasted VM file (the web console's POST /api/apply): the text is parsed and checked as `roost apply`
// checks a file (same size, alias and depth limits, same schema, same mount and image checks, same plan and
// steps, apply.ts). What differs is that a pasted file has no place on disk: a relative path has nothing to be
// relative to and is refused, naming it; a VM it creates is recorded as from no file (apply-mark.ts), and a VM
// already applied from a file stays recorded as from that file, so the file's own `apply --prune` still owns it.
import { relativePaths } from '../declarative/paths.js';
import { parseVmFile, VmFileError, type FileProblem } from '../declarative/parse.js';
import { planRead, type ApplyPlan } from './apply.js';
import type { VmContext } from './context.js';

/** How a pasted file is named in messages: "pasted file:3:1: key `cpus`: …". */
export const PASTED_FILE = 'pasted file';

/** Reads and checks the text, then plans it against the session's VMs. Throws UsageError with nothing changed. */
export async function planApplyText(ctx: VmContext, text: string): Promise<ApplyPlan> {
  const vms = parseVmFile(PASTED_FILE, text);
  const problems: FileProblem[] = vms.flatMap((vm) =>
    relativePaths(vm.spec).map(({ key, path }) => ({
      line: vm.line,
      col: 1,
      key,
      message: `VM '${vm.spec.name}': '${path}' is a relative path, and a pasted file has no directory: give an absolute path (or ~/…)`,
    })),
  );
  if (problems.length > 0) throw new VmFileError(PASTED_FILE, problems);
  return planRead(ctx, [{ abs: PASTED_FILE, vms }], {
    fileFor: (d, current) => current?.appliedFrom ?? d.file,
  });
}
