// libvirt connection URIs, parsed the way libvirt's remote driver reads them (src/remote/remote_driver.c,
// src/util/viruri.c), restricted to what roost speaks: the QEMU driver over a local UNIX socket or over SSH.
//
//   qemu:///session                      local, the caller's session daemon
//   qemu+unix:///system?socket=/path     local, explicit transport and socket
//   qemu+ssh://user@host:2222/system     remote, tunnelled through the system OpenSSH client
//
// Query parameters that configure the transport (socket, mode, keyfile, no_verify, ...) are consumed here and
// left out of `openName`, the name the daemon receives in CONNECT_OPEN; any other parameter is passed through
// to the daemon, as libvirt does.

export type Transport = 'unix' | 'ssh';
export type Scope = 'session' | 'system';
/** Which local daemon socket to use: auto picks the modular one when it exists (see dialers/socket-path.ts). */
export type SocketMode = 'auto' | 'direct' | 'legacy';
/** What runs on the far side of an SSH tunnel: virt-ssh-helper, netcat, or the helper with a netcat fallback. */
export type SshProxy = 'auto' | 'netcat' | 'native';

export interface LibvirtUri {
  /** The URI exactly as given. */
  raw: string;
  driver: 'qemu';
  transport: Transport;
  user?: string;
  host?: string;
  port?: number;
  path: '/session' | '/system';
  scope: Scope;
  /** Every query parameter, names lower-cased (libvirt compares them case-insensitively), values decoded. */
  params: Readonly<Record<string, string>>;
  /** `?socket=`: an explicit UNIX socket path (local, or on the SSH host). */
  socket?: string;
  mode: SocketMode;
  /** The name sent in CONNECT_OPEN, e.g. 'qemu:///session'. */
  openName: string;
  /** Query parameters that are not roost's transport settings, in order: they belong to the daemon. */
  passthrough: ReadonlyArray<readonly [string, string]>;
}

export class UriError extends Error {
  readonly code = 'URI_INVALID';
  constructor(
    readonly uri: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(
      `invalid libvirt URI '${uri}': ${problem} ` +
        `(examples: qemu:///session, qemu:///system, qemu+ssh://user@host/session)`,
      options,
    );
    this.name = 'UriError';
  }
}

export const DEFAULT_URI = 'qemu:///session';

/** The URI to use when none is given: $ROOST_CONNECT, then $LIBVIRT_DEFAULT_URI (as virsh), then the session. */
export function defaultUri(env: NodeJS.ProcessEnv = process.env): string {
  for (const name of ['ROOST_CONNECT', 'LIBVIRT_DEFAULT_URI']) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return DEFAULT_URI;
}

// Parameters the remote driver consumes itself (never sent to the daemon). The first group is what roost
// implements; the second belongs to transports roost does not speak (TLS, libssh) and is dropped so the daemon
// never sees it, exactly as libvirt would.
const SSH_PARAMS = new Set(['keyfile', 'no_verify', 'no_tty', 'command', 'netcat', 'proxy']);
const CONSUMED_PARAMS = new Set([
  'name',
  'socket',
  'mode',
  ...SSH_PARAMS,
  'auth',
  'authfile',
  'sshauth',
  'pkipath',
  'known_hosts',
  'known_hosts_verify',
  'tls_priority',
  'no_sanity',
]);
const BOOLEAN_PARAMS = new Set(['no_verify', 'no_tty', 'no_sanity']);
const OTHER_TRANSPORTS = new Set(['tls', 'tcp', 'libssh', 'libssh2', 'ext']);

// scheme "://" authority path [? query] [# fragment]; the authority may be empty (local).
const URI_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/;

export function parseUri(uri: string): LibvirtUri {
  if (typeof uri !== 'string' || uri.trim() === '') throw new UriError(String(uri), 'it is empty');
  const m = URI_SHAPE.exec(uri);
  if (!m) throw new UriError(uri, 'expected the form driver[+transport]://[user@host[:port]]/session|system');
  const [, scheme = '', authority = '', rawPath = '', query, fragment] = m;
  if (fragment !== undefined) throw new UriError(uri, 'a #fragment is not allowed');

  const [driverPart = '', transportPart, ...extra] = scheme.toLowerCase().split('+');
  if (extra.length > 0) throw new UriError(uri, `scheme '${scheme}' has more than one '+'`);
  if (driverPart !== 'qemu') {
    throw new UriError(uri, `driver '${driverPart}' is not supported: roost only drives QEMU ('qemu:')`);
  }

  const { user, host, port } = parseAuthority(uri, authority);
  let transport: Transport;
  if (transportPart === undefined || transportPart === 'unix') {
    if (host !== undefined) {
      throw new UriError(
        uri,
        transportPart === 'unix'
          ? `a unix socket cannot reach host '${host}'; use qemu+ssh://${host}/... instead`
          : `a remote host without a transport means TLS, which roost does not speak; use qemu+ssh://${host}/...`,
      );
    }
    if (user !== undefined || port !== undefined) throw new UriError(uri, 'user and port need a host');
    transport = 'unix';
  } else if (transportPart === 'ssh') {
    transport = 'ssh';
  } else if (OTHER_TRANSPORTS.has(transportPart)) {
    throw new UriError(
      uri,
      `transport '${transportPart}' is not supported: use unix (local) or ssh (remote)`,
    );
  } else {
    throw new UriError(uri, `unknown transport '${transportPart}': use unix (local) or ssh (remote)`);
  }

  if (rawPath !== '/session' && rawPath !== '/system') {
    throw new UriError(uri, `path '${rawPath || '(none)'}' must be /session or /system`);
  }
  const path = rawPath;

  const pairs = parseQuery(uri, query);
  const params: Record<string, string> = {};
  for (const [name, value] of pairs) params[name] = value; // the last occurrence wins, as in libvirt
  validateParams(uri, transport, params);

  const passthrough = pairs.filter(([name]) => !CONSUMED_PARAMS.has(name));
  const openName = params.name ?? formatName(path, passthrough);
  const mode = (params.mode ?? 'auto') as SocketMode;

  const result: LibvirtUri = {
    raw: uri,
    driver: 'qemu',
    transport,
    path,
    scope: path === '/session' ? 'session' : 'system',
    params,
    mode,
    openName,
    passthrough,
  };
  if (user !== undefined) result.user = user;
  if (host !== undefined) result.host = host;
  if (port !== undefined) result.port = port;
  if (params.socket !== undefined) result.socket = params.socket;
  return result;
}

/** `qemu:///system` plus any pass-through parameters: the name CONNECT_OPEN carries. */
export function formatName(path: string, params: ReadonlyArray<readonly [string, string]>): string {
  const query = params.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  return `qemu://${path}${query ? `?${query}` : ''}`;
}

function parseAuthority(uri: string, authority: string): { user?: string; host?: string; port?: number } {
  if (authority === '') return {};
  const at = authority.lastIndexOf('@');
  const userPart = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;

  let user: string | undefined;
  if (userPart !== undefined) {
    user = decode(uri, userPart, 'user name');
    if (user === '') throw new UriError(uri, "the user name before '@' is empty");
    if (user.includes(':')) throw new UriError(uri, 'passwords in URIs are not supported; use an SSH key');
  }

  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(hostPort);
  if (v6) {
    host = v6[1] ?? '';
    portText = v6[2];
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
    host = decode(uri, host, 'host name');
  }
  if (host === '') {
    if (user !== undefined || portText !== undefined) throw new UriError(uri, 'the host name is empty');
    return {};
  }
  // A host that starts with '-' would be read by ssh as an option.
  if (host.startsWith('-') || /[\s/\\]/.test(host))
    throw new UriError(uri, `host name '${host}' is not valid`);

  let port: number | undefined;
  if (portText !== undefined && portText !== '') {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new UriError(uri, `port '${portText}' must be a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  return { ...(user !== undefined && { user }), host, ...(port !== undefined && { port }) };
}

// Same splitting rules as libvirt's virURIParseParams: '&' or ';' separate, a name without '=' has an empty
// value, '=value' without a name is ignored, values are percent-decoded ('+' stays '+').
function parseQuery(uri: string, query: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!query) return out;
  for (const part of query.split(/[&;]/)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === 0) continue;
    const name = decode(uri, eq < 0 ? part : part.slice(0, eq), 'parameter name').toLowerCase();
    const value = eq < 0 ? '' : decode(uri, part.slice(eq + 1), `value of '${name}'`);
    out.push([name, value]);
  }
  return out;
}

function validateParams(uri: string, transport: Transport, params: Record<string, string>): void {
  for (const [name, value] of Object.entries(params)) {
    if (value.includes('\0')) throw new UriError(uri, `parameter '${name}' contains a NUL byte`);
    if (transport !== 'ssh' && SSH_PARAMS.has(name)) {
      throw new UriError(uri, `'${name}=' only applies to qemu+ssh:// URIs`);
    }
    if (BOOLEAN_PARAMS.has(name) && !/^[+-]?\d+$/.test(value)) {
      throw new UriError(uri, `'${name}=' must be a number (0 or 1), not '${value}'`);
    }
  }
  const { mode, socket, proxy, keyfile, command, netcat } = params;
  if (mode !== undefined && !['auto', 'direct', 'legacy'].includes(mode)) {
    throw new UriError(uri, `mode '${mode}' must be auto, direct or legacy`);
  }
  if (proxy !== undefined && !['auto', 'netcat', 'native'].includes(proxy)) {
    throw new UriError(uri, `proxy '${proxy}' must be auto, netcat or native`);
  }
  if (socket !== undefined && !socket.startsWith('/') && !(transport === 'unix' && socket.startsWith('@'))) {
    throw new UriError(uri, `socket '${socket}' must be an absolute path`);
  }
  if (proxy === 'native' && (socket !== undefined || netcat !== undefined)) {
    throw new UriError(uri, 'proxy=native (virt-ssh-helper) cannot be combined with socket= or netcat=');
  }
  for (const [name, value] of Object.entries({ keyfile, command, netcat })) {
    if (value === '') throw new UriError(uri, `'${name}=' needs a value`);
  }
}

function decode(uri: string, text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    throw new UriError(uri, `bad percent-encoding in the ${what}`, { cause: err });
  }
}
