// Calls to roost's REST API and the page's login (docs/web.md). There is no cookie: the page trades the
// one-time `#login=` link for a page session secret, keeps it in sessionStorage (this tab only; a reload keeps
// it) and sends it as `Authorization: Bearer SESSION`. EventSource and WebSocket cannot send that header: they
// get a single-use ticket first. Errors come back as {error:{code,message,hint?,detail?}} and are thrown as
// ApiError. Every answer's type is the server's own (src/shared), so the page cannot drift from the API.
import type {
  AutostartDisabled,
  AutostartEnabled,
  AutostartList,
  ClonedVm,
  CreatedSnapshot,
  CreatedVm,
  DoctorReport,
  ConnectionInfo,
  ErrorBody,
  HostVms,
  ImageListing,
  LinkCreated,
  PortChangeResult,
  PortList,
  PullStarted,
  RemovedSnapshot,
  RemovedVm,
  RevertedSnapshot,
  SessionGranted,
  SnapshotList,
  StartedVm,
  StoppedVm,
  TicketGranted,
  VmAddresses,
  VmInfo,
  VmLog,
  VmStatsHistory,
  VmSummary,
} from '../../src/shared/api-types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The fix, when the server knows one. */
    readonly hint?: string,
    /** More to read, several lines. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

const SESSION_KEY = 'roost.session';

/** Who hears that the session is gone (a 401: the server restarted, or the link was refused). */
const loggedOutListeners = new Set<(why: string) => void>();

export function onLoggedOut(fn: (why: string) => void): () => void {
  loggedOutListeners.add(fn);
  return () => loggedOutListeners.delete(fn);
}

function loggedOut(why: string): void {
  sessionStorage.removeItem(SESSION_KEY);
  for (const fn of loggedOutListeners) fn(why);
}

export function hasSession(): boolean {
  return sessionStorage.getItem(SESSION_KEY) !== null;
}

async function send<T>(method: string, path: string, body: unknown, session: string | null): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (session) headers.authorization = `Bearer ${session}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (data as Partial<ErrorBody> | null)?.error;
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? res.statusText,
      e?.hint,
      e?.detail,
    );
  }
  return data as T;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await send<T>(method, path, body, sessionStorage.getItem(SESSION_KEY));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) loggedOut(e.message);
    throw e;
  }
}

/** The secret of the login link this tab was opened with, once taken from the address bar. */
let loginSecret: string | null = null;

/**
 * Takes a login link's secret (`#login=SECRET`) out of the address bar and the history, at once: call it before
 * anything else runs (and again when the fragment changes).
 */
export function takeLoginSecret(): void {
  const m = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!m) return;
  history.replaceState(null, '', location.pathname + location.search);
  loginSecret = m[1]!;
}

/**
 * Logs the page in when it was opened with a login link: the secret taken by takeLoginSecret is traded, once,
 * for a page session. Resolves with why the page is not logged in, or null when it is (by this link or by the
 * session this tab had already).
 */
export async function login(): Promise<string | null> {
  const secret = loginSecret;
  loginSecret = null;
  if (secret) {
    try {
      const { session } = await send<SessionGranted>('POST', '/api/session', { link: secret }, null);
      sessionStorage.setItem(SESSION_KEY, session);
    } catch (e) {
      if (!hasSession()) return (e as Error).message;
    }
  }
  return hasSession() ? null : 'This tab has not logged in.';
}

const vm = (name: string) => `/api/vms/${encodeURIComponent(name)}`;

export const api = {
  listVms: () => call<VmSummary[]>('GET', '/api/vms'),
  vm: (name: string) => call<VmInfo>('GET', vm(name)),
  create: (body: Record<string, unknown>) => call<CreatedVm>('POST', '/api/vms', body),
  start: (name: string) => call<StartedVm>('POST', `${vm(name)}/start`),
  stop: (name: string, force = false) => call<StoppedVm>('POST', `${vm(name)}/stop`, { force }),
  remove: (name: string) => call<RemovedVm>('DELETE', `${vm(name)}?force=true`),
  ports: (name: string) => call<PortList>('GET', `${vm(name)}/ports`),
  addPort: (name: string, spec: string) =>
    call<PortChangeResult>('POST', `${vm(name)}/ports`, { specs: [spec] }),
  removePort: (name: string, spec: string) =>
    call<PortChangeResult>('DELETE', `${vm(name)}/ports/${encodeURIComponent(spec)}`),
  ip: (name: string) => call<VmAddresses>('GET', `${vm(name)}/ip`),
  stats: (name: string) => call<VmStatsHistory>('GET', `${vm(name)}/stats`),
  logs: (name: string, kind: 'serial' | 'qemu') => call<VmLog>('GET', `${vm(name)}/logs?kind=${kind}`),
  snapshots: (name: string) => call<SnapshotList>('GET', `${vm(name)}/snapshots`),
  createSnapshot: (name: string, body: { name?: string; description?: string }) =>
    call<CreatedSnapshot>('POST', `${vm(name)}/snapshots`, body),
  revertSnapshot: (name: string, snap: string) =>
    call<RevertedSnapshot>('POST', `${vm(name)}/snapshots/${encodeURIComponent(snap)}/revert`, {}),
  deleteSnapshot: (name: string, snap: string) =>
    call<RemovedSnapshot>('DELETE', `${vm(name)}/snapshots/${encodeURIComponent(snap)}`),
  clone: (name: string, body: { name: string; linked: boolean; stop?: boolean }) =>
    call<ClonedVm>('POST', `${vm(name)}/clone`, body),
  autostart: () => call<AutostartList>('GET', '/api/autostart'),
  autostartOn: (name: string) => call<AutostartEnabled>('PUT', `${vm(name)}/autostart`, {}),
  autostartOff: (name: string) => call<AutostartDisabled>('DELETE', `${vm(name)}/autostart`),
  doctor: () => call<DoctorReport>('GET', '/api/doctor'),
  images: () => call<ImageListing[]>('GET', '/api/images'),
  pullImage: (ref: string) => call<PullStarted>('POST', '/api/images/pull', { ref }),
  connection: () => call<ConnectionInfo>('GET', '/api/connection'),
  /** This host and every host of the user's hosts.yaml, each with its VMs or why it gave none. */
  hosts: () => call<HostVms[]>('GET', '/api/hosts'),
  /** A new one-time login link (for another tab). */
  newLink: () => call<LinkCreated>('POST', '/api/links', {}),
  /** A single-use ticket that opens the event stream or a console at `path`, for a few seconds. */
  ticket: (path: string) => call<TicketGranted>('POST', '/api/tickets', { path }),
};

/** ws://host/path for the page's own origin. */
function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

/** `path` with a fresh ticket (and `query`) in its query string: what EventSource and WebSocket connect to. */
export async function withTicket(path: string, query: Record<string, string> = {}): Promise<string> {
  const { ticket } = await api.ticket(path);
  return `${path}?${new URLSearchParams({ ...query, ticket }).toString()}`;
}

/** The URL of the event stream, with a ticket for one connection; its first message brings the VMs. */
export const eventsUrl = () => withTicket('/api/events', { snapshot: '1' });

/** The URL of every listed host's event stream, with a ticket for one connection; its first message: every row. */
export const hostsEventsUrl = () => withTicket('/api/hosts/events');

/** The WebSocket URL of a VM's serial or graphical console, with a ticket for one connection. */
export async function consoleUrl(name: string, kind: 'console' | 'vnc', query: Record<string, string> = {}) {
  return wsUrl(await withTicket(`${vm(name)}/${kind}`, query));
}
