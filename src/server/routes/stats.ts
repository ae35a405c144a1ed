// GET /api/vms/:name/stats: the samples the server kept of a VM (the last 10 minutes while a page listened);
// new ones arrive as `stats` events on /api/events (stats-recorder.ts).
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import type { VmStats } from '../../shared/stats.js';
import { createStatsRecorder, type StatsRecorder } from '../stats-recorder.js';
import { schemas } from '../validate.js';

// One recorder per hub: the TCP and the unix-socket apps share the hub, and must not sample twice.
const recorders = new WeakMap<AppDeps['hub'], { recorder: StatsRecorder; apps: number }>();

/** The samples kept for the apps on this hub (none before the stats routes are registered). */
export function keptStats(hub: AppDeps['hub']): VmStats[] {
  return recorders.get(hub)?.recorder.all() ?? [];
}

export function registerStatsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const entry = recorders.get(deps.hub) ?? {
    recorder: createStatsRecorder({
      context: deps.context,
      hub: deps.hub,
      onError: (err) => process.stderr.write(`roost web: stats: ${(err as Error).message}\n`),
    }),
    apps: 0,
  };
  entry.apps++;
  recorders.set(deps.hub, entry);
  app.addHook('onClose', async () => {
    if (--entry.apps > 0) return;
    entry.recorder.close();
    recorders.delete(deps.hub);
  });

  app.get('/api/vms/:name/stats', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const history = entry.recorder.history(name);
    if (history.samples.length > 0) return history;
    // Nothing kept: a VM that does not exist is a 404, not an empty history.
    const { lookupVm } = await import('../../vm/lookup.js');
    await lookupVm(await deps.context(), name);
    return history;
  });
}
