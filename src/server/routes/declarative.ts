// /api/vms/:name/export and /api/apply: a VM's file, and a pasted file applied, through the use cases of
// `roost export` and `roost apply` (src/vm/export.ts, apply.ts; the pasted text by apply-text.ts). No `--prune`
// from the page: a pasted file is no file that VMs were applied from (docs/web.md, docs/security.md).
import type { FastifyInstance } from 'fastify';
import { MAX_FILE_BYTES } from '../../declarative/parse.js';
import type { ExportedFile } from '../../shared/declarative.js';
import type { AppDeps } from '../deps.js';
import { schemas } from '../validate.js';

/**
 * The body of POST /api/apply: a VM file at its limit, JSON-escaped (a newline becomes two bytes, so a file of
 * short lines may grow by half), and the envelope. The parser holds the text itself to MAX_FILE_BYTES.
 */
export const APPLY_BODY_LIMIT = MAX_FILE_BYTES * 2;

export function registerDeclarativeRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/vms/:name/export', async (req): Promise<ExportedFile> => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const { exportVm } = await import('../../vm/export.js');
    const { text, warnings } = await exportVm(await deps.context(), name, 'roost');
    return { name, format: 'roost', text, warnings };
  });

  // 200 with the result whatever became of each VM: `ok` and each VM's outcome say it (as `roost apply --json`).
  app.post('/api/apply', { bodyLimit: APPLY_BODY_LIMIT }, async (req) => {
    const body = (await schemas()).ApplyBody.parse(req.body ?? {});
    const [{ planApplyText }, { applyResult, runApply }] = await Promise.all([
      import('../../vm/apply-text.js'),
      import('../../vm/apply.js'),
    ]);
    const ctx = await deps.context();
    const plan = await planApplyText(ctx, body.yaml);
    if (body.dryRun) return applyResult(plan, true);
    return runApply(ctx, plan);
  });
}
