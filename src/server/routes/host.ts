// /api/connection, /api/doctor, /api/images: the host side, through the same use cases as `roost connection`,
// `roost doctor` and `roost image` (one image store per process: concurrent pulls of one image share a download).
// /api/hosts and /api/hosts/events: every host of the user's list, asked once or followed live.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.js';
import { schemas } from '../validate.js';
import { openSse } from './sse.js';
import type { PullStarted } from '../../shared/host.js';
import type { HostStateEvent, HostsReadyMessage, HostVmEvent, HostVms } from '../../shared/hosts.js';

export function registerHostRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get('/api/connection', async () => {
    const { describeConnection } = await import('../../vm/connection.js');
    return describeConnection(await deps.context());
  });

  // `roost ls --all-hosts` for the page. Only the server's own file names hosts: the page sends no URI.
  app.get('/api/hosts', () => everyHost(deps));

  // The same rows, then kept live (below).
  app.get('/api/hosts/events', (req, reply) => streamHosts(deps, req, reply));

  app.get('/api/doctor', async () => {
    const { runDoctor } = await import('../../host/doctor.js');
    const ctx = await deps.context();
    return runDoctor({ connect: async () => ctx.client, uri: deps.uri, env: ctx.env });
  });

  app.get('/api/images', async () => {
    const { imageStore } = await import('../../images/store.js');
    return imageStore((await deps.context()).paths).list();
  });

  // Downloads take minutes: answer 202 at once; progress, the end and failures come as {type:'image'} events.
  app.post('/api/images/pull', async (req, reply) => {
    const { ref } = (await schemas()).PullBody.parse(req.body ?? {});
    const [{ imageStore }, { checkImageName }] = await Promise.all([
      import('../../images/store.js'),
      import('../../images/names.js'),
    ]);
    // Refused here, with a 400, before the 202 that would report it only as an event.
    checkImageName(ref);
    const store = imageStore((await deps.context()).paths);
    const publish = (
      phase: string,
      extra: { receivedBytes?: number; totalBytes?: number; message?: string } = {},
    ) => deps.hub.publish({ type: 'image', ref, phase, ...extra });
    let lastProgress = 0;
    store
      .pull(ref, {
        onProgress: (e) => {
          if (e.type === 'progress') {
            // At most four a second, whatever rate the downloader reports at.
            if (Date.now() - lastProgress < 250) return;
            lastProgress = Date.now();
            publish('progress', { receivedBytes: e.received, totalBytes: e.total });
          } else if (e.type !== 'done') publish(e.type);
        },
      })
      .then(
        (img) => publish('done', { totalBytes: img.size }),
        (err: unknown) => publish('failed', { message: (err as Error).message }),
      );
    reply.code(202);
    return { ref, pulling: true } satisfies PullStarted;
  });

  app.delete('/api/images/:ref', async (req) => {
    const s = await schemas();
    const { ref } = s.RefParams.parse(req.params);
    const { force } = s.ForceQuery.parse(req.query);
    const [{ imageStore }, { checkImageName }] = await Promise.all([
      import('../../images/store.js'),
      import('../../images/names.js'),
    ]);
    return imageStore((await deps.context()).paths).remove(checkImageName(ref), { force });
  });
}

/** This server's connection as 'local', then every host of the user's hosts.yaml, each within a timeout. */
async function everyHost(deps: AppDeps): Promise<HostVms[]> {
  const [{ listHosts, hostVms }, { readHosts }] = await Promise.all([
    import('../../vm/remote-list.js'),
    import('../../vm/remote-hosts.js'),
  ]);
  const ctx = await deps.context();
  // A hosts.yaml that cannot be read is one row saying why, like a host that is down.
  const others = (async () => listHosts(readHosts(ctx.paths), { env: ctx.env }))().catch((error: unknown) => [
    hostVms('hosts.yaml', '', { error }),
  ]);
  const [here, there] = await Promise.all([localRow(deps), others]);
  return [here, ...there];
}

/**
 * GET /api/hosts/events: `ready` with every row, then every host's `vm` events (each with its host) and a
 * `host` row when one (re)connects or goes down. This server's own VMs are the row 'local', kept live from the
 * server's own event feed. Opened with a ticket, like /api/events; the request names no host either.
 */
async function streamHosts(deps: AppDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  let leave = () => {};
  let gone = false;
  const send = openSse(req, reply, () => {
    gone = true;
    leave();
  });
  const { LOCAL_HOST } = await import('../../vm/remote-hosts.js');
  const local = followLocal(deps, LOCAL_HOST, send);
  const here = await localRow(deps);
  if (gone) return local.leave();
  const leaveFeeds = deps.hostFeeds.subscribe(
    (json, e) => send(e.type, json),
    (rows) => {
      send('ready', JSON.stringify({ type: 'ready', hosts: [here, ...rows] } satisfies HostsReadyMessage));
      local.live();
    },
  );
  leave = () => {
    leaveFeeds();
    local.leave();
  };
}

/**
 * This server's own VM events as the row 'local', from the hub it already has (no second connection).
 * Subscribed before the local list is read, and held until `ready` is sent: an event that falls between is sent
 * after the rows (a state the row may already show; applying it again changes nothing). A restart of the hub's
 * feed (`resync`) sends the local row anew.
 */
function followLocal(deps: AppDeps, host: string, send: (event: string, json: string) => void) {
  const held: string[] = [];
  let live = false;
  const forward = (json: string) => (live ? send('vm', json) : held.push(json));
  const unsubscribe = deps.hub.subscribe((_json, e) => {
    if (e.type === 'vm') forward(JSON.stringify({ ...e, host } satisfies HostVmEvent));
    else if (e.type === 'resync') void resendLocalRow(deps, send);
  });
  return {
    live() {
      live = true;
      for (const json of held.splice(0)) send('vm', json);
    },
    leave: unsubscribe,
  };
}

async function resendLocalRow(deps: AppDeps, send: (event: string, json: string) => void) {
  const row = await localRow(deps);
  send('host', JSON.stringify({ type: 'host', ...row, time: Date.now() } satisfies HostStateEvent));
}

/** This server's own connection as the row 'local': its VMs, or why they could not be read. */
async function localRow(deps: AppDeps): Promise<HostVms> {
  const [{ hostVms }, { LOCAL_HOST }, { listVms }] = await Promise.all([
    import('../../vm/remote-list.js'),
    import('../../vm/remote-hosts.js'),
    import('../../vm/list.js'),
  ]);
  let ctx;
  try {
    ctx = await deps.context();
  } catch (error) {
    return hostVms(LOCAL_HOST, deps.uri ?? '', { error });
  }
  const uri = ctx.uri;
  return listVms(ctx).then(
    (vms) => hostVms(LOCAL_HOST, uri, { vms }),
    (error: unknown) => hostVms(LOCAL_HOST, uri, { error }),
  );
}
