// A VM's saved state and what copies or starts it, over HTTP: snapshots, clone, start at login. The same use
// cases and the same answers (vm/wire-state.ts) as `roost snapshot|clone|autostart --json`; the auth, Host and
// Origin rules are app.ts's, as for every route under /api/.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';

type StateSchemas = typeof import('./state-schemas.js');
let loaded: Promise<StateSchemas> | undefined;
const schemas = () => (loaded ??= import('./state-schemas.js'));
const wire = () => import('../../vm/wire-state.js');

export function registerStateRoutes(app: FastifyInstance, deps: AppDeps): void {
  registerSnapshotRoutes(app, deps);
  registerCloneRoute(app, deps);
  registerAutostartRoutes(app, deps);
}

function registerSnapshotRoutes(app: FastifyInstance, deps: AppDeps): void {
  const ctx = () => deps.context();
  const snapshots = () => import('../../vm/snapshot.js');

  app.get('/api/vms/:name/snapshots', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const [{ listVmSnapshots }, { snapshotList }] = await Promise.all([snapshots(), wire()]);
    return snapshotList(await listVmSnapshots(await ctx(), name));
  });

  app.post('/api/vms/:name/snapshots', async (req, reply) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const body = s.SnapshotBody.parse(req.body ?? {});
    const [{ createVmSnapshot }, { createdSnapshot }] = await Promise.all([snapshots(), wire()]);
    const r = await createVmSnapshot(await ctx(), name, body.name, {
      description: body.description,
      diskOnly: body.diskOnly,
      kind: body.kind,
    });
    reply.code(201);
    return createdSnapshot(r);
  });

  app.post('/api/vms/:name/snapshots/:snap/revert', async (req) => {
    const s = await schemas();
    const { name, snap } = s.SnapshotParams.parse(req.params);
    const { start } = s.RevertBody.parse(req.body ?? {});
    const [{ revertVmSnapshot }, { revertedSnapshot }] = await Promise.all([snapshots(), wire()]);
    return revertedSnapshot(await revertVmSnapshot(await ctx(), name, snap, { start }));
  });

  app.delete('/api/vms/:name/snapshots/:snap', async (req) => {
    const { name, snap } = (await schemas()).SnapshotParams.parse(req.params);
    const [{ deleteVmSnapshot }, { removedSnapshot }] = await Promise.all([snapshots(), wire()]);
    return removedSnapshot(await deleteVmSnapshot(await ctx(), name, snap));
  });
}

function registerCloneRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post('/api/vms/:name/clone', async (req, reply) => {
    const s = await schemas();
    const { name: source } = s.NameParams.parse(req.params);
    const body = s.CloneBody.parse(req.body ?? {});
    const [{ cloneVm }, { clonedVm }] = await Promise.all([import('../../vm/clone.js'), wire()]);
    // The clone's phases go out as a create's do: the page shows them while the copy runs.
    const r = await cloneVm(await deps.context(), { source, ...body }, (phase) =>
      deps.hub.publish({ type: 'create', name: body.name, phase }),
    );
    reply.code(201);
    return clonedVm(r);
  });
}

function registerAutostartRoutes(app: FastifyInstance, deps: AppDeps): void {
  const autostart = () => import('../../vm/autostart.js');

  app.get('/api/autostart', async () => {
    const [{ autostartVms, systemdState }, { autostartList }] = await Promise.all([autostart(), wire()]);
    const { env } = await deps.context();
    return autostartList(autostartVms(env), systemdState(env));
  });

  app.put('/api/vms/:name/autostart', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const { atBoot } = s.AutostartBody.parse(req.body ?? {});
    const [{ autostartOn, checkAutostartUri }, { lookupVm }, { autostartEnabled }] = await Promise.all([
      autostart(),
      import('../../vm/lookup.js'),
      wire(),
    ]);
    const ctx = await deps.context();
    checkAutostartUri(ctx.uri);
    // The name becomes a unit file: it must be an existing VM's before anything is written.
    await lookupVm(ctx, name);
    return autostartEnabled(await autostartOn(ctx.uri, name, !!atBoot, { env: ctx.env }));
  });

  app.delete('/api/vms/:name/autostart', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const [{ autostartOff, checkAutostartUri }, { autostartDisabled }] = await Promise.all([
      autostart(),
      wire(),
    ]);
    const ctx = await deps.context();
    checkAutostartUri(ctx.uri);
    return autostartDisabled(autostartOff(name, ctx.env));
  });
}
