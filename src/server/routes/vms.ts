// /api/vms: the CLI's verbs over HTTP. Each route checks its input (schemas.ts, zod) and calls the same use
// case the command calls (src/vm/); no VM logic lives here.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.js';
import { schemas } from '../validate.js';
import { registerStateRoutes } from './state.js';

export function registerVmRoutes(app: FastifyInstance, deps: AppDeps): void {
  registerVmReads(app, deps);
  registerVmChanges(app, deps);
  registerVmPower(app, deps);
  registerPortRoutes(app, deps);
  registerStateRoutes(app, deps);
}

/** The list, one VM, its addresses and its logs. */
function registerVmReads(app: FastifyInstance, deps: AppDeps): void {
  const ctx = () => deps.context();

  app.get('/api/vms', async () => {
    const { listVms } = await import('../../vm/list.js');
    return listVms(await ctx());
  });

  app.get('/api/vms/:name', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const { describeVm } = await import('../../vm/info.js');
    return (await describeVm(await ctx(), name)).info;
  });

  app.get('/api/vms/:name/ip', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const { vmAddresses } = await import('../../vm/ip.js');
    return vmAddresses(await ctx(), name);
  });

  // The answer of `roost logs --json`: the whole log, serial (the default) or QEMU's with ?kind=qemu.
  app.get('/api/vms/:name/logs', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const { kind } = s.LogsQuery.parse(req.query);
    const { readVmLog } = await import('../../vm/read-log.js');
    return readVmLog(await ctx(), name, kind);
  });
}

/** Create, edit, remove. */
function registerVmChanges(app: FastifyInstance, deps: AppDeps): void {
  const ctx = () => deps.context();

  app.post('/api/vms', async (req, reply) => {
    const body = (await schemas()).CreateBody.parse(req.body ?? {});
    const [{ createVm }, { createdVm }] = await Promise.all([
      import('../../vm/create.js'),
      import('../../vm/wire.js'),
    ]);
    const r = await createVm(await ctx(), body, (phase) =>
      deps.hub.publish({ type: 'create', name: body.name, phase }),
    );
    reply.code(201);
    // The answer of `roost create --json`; the API does not wait for the guest.
    return createdVm(r, null);
  });

  app.patch('/api/vms/:name', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const body = s.EditBody.parse(req.body ?? {});
    const { editVm } = await import('../../vm/edit.js');
    return editVm(await ctx(), name, body);
  });

  app.delete('/api/vms/:name', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const q = s.DeleteQuery.parse(req.query);
    const { removeVm } = await import('../../vm/remove.js');
    return removeVm(await ctx(), name, { force: q.force, keepStorage: q.keepStorage });
  });
}

/** Start and stop. */
function registerVmPower(app: FastifyInstance, deps: AppDeps): void {
  const ctx = () => deps.context();

  app.post('/api/vms/:name/start', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const [{ startVm }, { startedVm }] = await Promise.all([
      import('../../vm/start.js'),
      import('../../vm/wire.js'),
    ]);
    const c = await ctx();
    const r = await startVm(c, name);
    // As `roost start` does: a VM made with --auto-ports gets its watcher.
    if (r.autoPorts) (await import('../../vm/auto-ports.js')).ensureAutoPortsWatcher(c, name);
    // The answer of `roost start --json`; the API does not wait for the guest.
    return startedVm(r, null);
  });

  app.post('/api/vms/:name/stop', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const body = s.StopBody.parse(req.body ?? {});
    const { stopVm } = await import('../../vm/stop.js');
    return stopVm(await ctx(), name, { force: body.force, timeoutS: body.timeout });
  });
}

/** A VM's port forwards; each change goes out as a {type:'ports'} event. */
function registerPortRoutes(app: FastifyInstance, deps: AppDeps): void {
  const ctx = () => deps.context();

  app.get('/api/vms/:name/ports', async (req) => {
    const { name } = (await schemas()).NameParams.parse(req.params);
    const { listPorts } = await import('../../vm/ports.js');
    return listPorts(await ctx(), name);
  });

  app.post('/api/vms/:name/ports', async (req) => {
    const s = await schemas();
    const { name } = s.NameParams.parse(req.params);
    const body = s.PortBody.parse(req.body ?? {});
    const { addPorts } = await import('../../vm/ports.js');
    const r = await addPorts(await ctx(), name, body.specs, { apply: body.apply });
    deps.hub.publish({ type: 'ports', name, ports: r.ports });
    return r;
  });

  app.delete('/api/vms/:name/ports/:spec', async (req) => {
    const s = await schemas();
    const { name, spec } = s.PortParams.parse(req.params);
    const { apply } = s.ApplyQuery.parse(req.query);
    const { removePorts } = await import('../../vm/ports.js');
    const r = await removePorts(await ctx(), name, [spec], { apply });
    deps.hub.publish({ type: 'ports', name, ports: r.ports });
    return r;
  });
}
