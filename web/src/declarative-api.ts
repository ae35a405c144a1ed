// The VM file over the API (docs/api.md, "VM files"): a VM's file as `roost export` writes it, and a pasted file
// planned (dryRun) or applied as `roost apply` does. Apart from api.ts so that the page's other calls stay as
// they are; the same session and errors (ApiError).
import { call } from './api.js';
import type { ApplyRequest, ApplyResult, ExportedFile } from '../../src/shared/api-types.js';

export const declarativeApi = {
  exportVm: (name: string) => call<ExportedFile>('GET', `/api/vms/${encodeURIComponent(name)}/export`),
  apply: (body: ApplyRequest) => call<ApplyResult>('POST', '/api/apply', body),
};
