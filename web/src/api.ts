// Calls to roost's REST API. The session cookie goes along by itself (same origin); errors come back as
// {error:{code,message,hint}} and are thrown as ApiError.
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (data as { error?: { code?: string; message?: string; hint?: string } } | null)?.error;
    if (res.status === 401) location.reload(); // the session ended (server restarted): show why
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.hint);
  }
  return data as T;
}

const vm = (name: string) => `/api/vms/${encodeURIComponent(name)}`;

export const api = {
  listVms: () => call<import('./types.js').VmSummary[]>('GET', '/api/vms'),
  vm: (name: string) => call<import('./types.js').VmDetails>('GET', vm(name)),
  create: (body: Record<string, unknown>) => call<{ name: string; state: string }>('POST', '/api/vms', body),
  start: (name: string) => call<unknown>('POST', `${vm(name)}/start`),
  stop: (name: string, force = false) => call<unknown>('POST', `${vm(name)}/stop`, { force }),
  remove: (name: string) => call<unknown>('DELETE', `${vm(name)}?force=true`),
  ports: (name: string) => call<import('./types.js').PortList>('GET', `${vm(name)}/ports`),
  addPort: (name: string, spec: string) =>
    call<import('./types.js').PortChangeResult>('POST', `${vm(name)}/ports`, { specs: [spec] }),
  removePort: (name: string, spec: string) =>
    call<import('./types.js').PortChangeResult>('DELETE', `${vm(name)}/ports/${encodeURIComponent(spec)}`),
  ip: (name: string) => call<import('./types.js').VmAddresses>('GET', `${vm(name)}/ip`),
  doctor: () => call<import('./types.js').DoctorReport>('GET', '/api/doctor'),
  images: () => call<import('./types.js').ImageListing[]>('GET', '/api/images'),
  connection: () => call<import('./types.js').ConnectionInfo>('GET', '/api/connection'),
};

/** ws://host/path for the page's own origin. */
export function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

export function consoleUrl(name: string, kind: 'console' | 'vnc'): string {
  return wsUrl(`${vm(name)}/${kind}`);
}
