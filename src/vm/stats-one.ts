// roost stats NAME: the bulk stats call asked for one domain, twice, `intervalMs` apart.
import type { VmStats } from '../shared/stats.js';
import type { VmContext } from './context.js';
import { lookupVm } from './lookup.js';
import { sampleTwice } from './stats.js';

export async function vmStats(ctx: VmContext, name: string, intervalMs: number): Promise<VmStats> {
  const dom = await lookupVm(ctx, name);
  const [s] = await sampleTwice(ctx.client, intervalMs, [dom]);
  // libvirt answers for every domain it was given; one removed meanwhile fails the call itself (no such domain).
  return s!;
}
