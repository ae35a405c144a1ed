// Hostile input through the REST API of `roost web`, over its UNIX socket (no token there: the socket's mode
// decides who connects, so these cases test input handling and nothing else). The server is the built CLI run
// as the unprivileged test user. Every case gets a 4xx with one {error: {code, message}} (never "INTERNAL",
// never a stack trace), and nothing changes: the same domains, volumes and roost files afterwards.
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startWeb, type HttpResult, type RunningWeb } from '../e2e/web-server.js';
import { createScope, harness } from '../harness/index.js';
import {
  clearGround,
  hostileNames,
  inventory,
  makeGround,
  makeHostileFiles,
  type HostileFiles,
  type Inventory,
} from './battery.js';

const { user, uri } = harness();
const scope = createScope('sec-api', user, uri);
const marker = join('/tmp', `${scope.prefix}pwned`);
const markers = [marker, '/tmp/pwned'];
const victim = join(user.home, `${scope.prefix}victim.qcow2`);
const existing = scope.name('vm');

let web: RunningWeb;
let sockDir: string;
// Made as the file loads: the test tables below name these paths.
const f: HostileFiles = makeHostileFiles(scope.dir, user);
const base = join(scope.dir, 'base.qcow2');
let baseline: Inventory;
let domainsAtStart: string[];

beforeAll(async () => {
  ({ domainsAtStart } = await makeGround(user, uri, { base, victim, existing, kernel: f.kernel }));
  sockDir = join('/tmp', `${scope.prefix}sock`);
  mkdirSync(sockDir, { mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(sockDir, user.uid, user.gid);
  web = await startWeb(user, ['--unix', join(sockDir, 'api.sock')]);
  baseline = await inventory(uri, user, markers);
});

afterAll(async () => {
  await web?.stop();
  await clearGround(uri, scope, domainsAtStart, victim, markers);
  if (sockDir) rmSync(sockDir, { recursive: true, force: true });
});

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return http(
    { socketPath: web.unix! },
    {
      method,
      path,
      headers: { host: 'localhost', 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    },
  );
}

/**
 * A request announcing a body larger than the server takes, over a raw connection: the server must answer from
 * the headers alone (413), without reading the body. Only the body's start is sent, so no write races the
 * server's close (Node's HTTP client would report that write error instead of the answer).
 */
function bigPost(path: string, body: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const sock = connect(web.unix!);
    let text = '';
    const timer = setTimeout(() => sock.destroy(new Error(`no answer: ${text}`)), 20_000);
    sock.on('data', (c: Buffer) => {
      text += c.toString();
      if (/\r\n\r\n[\s\S]*\}/.test(text)) sock.destroy();
    });
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      const [head = '', rest = ''] = text.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      // A chunked body: its JSON sits between the chunk-size lines.
      resolve({ status, headers: {}, body: /\{.*\}/s.exec(rest)?.[0] ?? '' });
    });
    sock.write(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 1024)}`,
    );
  });
}

/** A 4xx in roost's error shape, a one-line message, and nothing changed. */
async function refused(r: HttpResult, status: number | RegExp = /^4\d\d$/, code?: string | RegExp) {
  expect(String(r.status), r.body).toMatch(typeof status === 'number' ? new RegExp(`^${status}$`) : status);
  const body = JSON.parse(r.body) as { error: { code: string; message: string } };
  expect(body.error.code).not.toBe('INTERNAL');
  if (code) expect(body.error.code).toMatch(code);
  expect(body.error.message).not.toMatch(/\n|^\s+at /);
  expect(r.body).not.toMatch(/TypeError|ReferenceError|node_modules|\/dist\//);
  expect(await inventory(uri, user, markers)).toEqual(baseline);
  expect(existsSync(victim)).toBe(true);
  // The server is still there and well.
  expect((await api('GET', '/api/vms')).status).toBe(200);
  expect(web.stderr()).not.toMatch(/^\s+at /m);
}

const createBody = (more: Record<string, unknown>) => ({
  name: scope.name('new'),
  kernel: f.kernel,
  memory: '128M',
  start: false,
  ...more,
});

describe('POST /api/vms: hostile names', () => {
  it.each([...hostileNames(marker), ['a NUL', 'a\u0000b'] as [string, string]])('%s', async (_label, name) =>
    refused(await api('POST', '/api/vms', createBody({ name })), 400, 'INVALID_REQUEST'),
  );
});

describe('POST /api/vms: wrong types, extra keys, pollution, size', () => {
  it.each([
    ['a number as the name', { name: 5 }],
    ['an array as the name', { name: ['a'] }],
    ['an object as the name', { name: { toString: 'x' } }],
    ['null as the name', { name: null }],
    ['a boolean for cpus', { cpus: true }],
    ['a negative number for cpus', { cpus: -1 }],
    ['a huge number for memory', { memory: 1e300 }],
    ['a string for start', { start: 'yes' }],
    ['a string for ports', { ports: '8080:80' }],
    ['65 ports', { ports: Array.from({ length: 65 }, (_, i) => `${20_000 + i}:80`) }],
    ['an unknown key', { evil: 1 }],
    ['an unknown accel', { accel: 'kvm;id' }],
    ['a login name with a newline', { sshUser: 'bob\nHost *' }],
    ['a cmdline with a newline', { cmdline: 'a\nb' }],
    ['a path with a NUL', { kernel: `${f.kernel}\u0000` }],
  ] as [string, Record<string, unknown>][])('%s', async (_label, more) =>
    refused(await api('POST', '/api/vms', createBody(more)), 400),
  );

  it.each([
    ['__proto__', `{"name":"x","kernel":"/k","__proto__":{"polluted":true}}`],
    ['constructor.prototype', `{"name":"x","kernel":"/k","constructor":{"prototype":{"polluted":true}}}`],
    ['a nested __proto__', `{"name":"x","kernel":"/k","ports":[{"__proto__":{"polluted":true}}]}`],
  ])('a body with %s', async (_label, body) => refused(await api('POST', '/api/vms', body), 400));

  it('not JSON', async () => refused(await api('POST', '/api/vms', '{"name":'), 400));
  it('not JSON at all, as text/plain', async () =>
    refused(await api('POST', '/api/vms', 'name=x', { 'content-type': 'text/plain' }), /^(400|415)$/));
  it('a body over 1 MB', async () =>
    refused(
      await bigPost('/api/vms', JSON.stringify(createBody({ cmdline: 'x'.repeat(1.5 * 1024 ** 2) }))),
      413,
    ));
  it('a deeply nested body', async () =>
    refused(await api('POST', '/api/vms', `${'['.repeat(10_000)}${']'.repeat(10_000)}`), 400));
});

describe('POST /api/vms: hostile paths, sizes and ports', () => {
  const paths = () => [
    ['a directory', f.dir],
    ['/dev/zero', f.zero],
    ['a FIFO', f.fifo],
    ['a path that does not exist', f.missing],
    ['a path with a newline', f.newline],
  ];
  for (const key of ['kernel', 'iso', 'image', 'initrd'] as const) {
    it.each(paths())(`${key}: %s`, async (_label, path) => {
      const body =
        key === 'initrd'
          ? createBody({ initrd: path })
          : { ...createBody({ kernel: undefined }), [key]: path };
      await refused(await api('POST', '/api/vms', body), 400);
    });
  }
  it.each(paths())('sshKey: %s', async (_label, path) =>
    refused(
      await api('POST', '/api/vms', { ...createBody({ kernel: undefined, image: base }), sshKey: path }),
      400,
    ),
  );
  it.each([
    ['memory', '-1'],
    ['memory', '1e9'],
    ['memory', 'NaN'],
    ['memory', '99999999999G'],
    ['memory', '100T'],
    ['cpus', '0'],
    ['cpus', '999'],
    ['cpus', 1.5],
    ['disk', '0'],
    ['disk', '-5G'],
    ['disk', '1Z'],
  ])('%s %j', async (key, value) =>
    refused(await api('POST', '/api/vms', createBody({ [key]: value })), 400),
  );
  it.each([
    '0:80',
    '65536:80',
    '18125:0',
    'a:b',
    '18125:80/sctp',
    '1.2.3.4.5:18125:22',
    '[::1]18125:22',
    '20000-29999:20000-29999',
    '18125\n:80',
  ])('ports [%j]', async (spec) =>
    refused(await api('POST', '/api/vms', createBody({ ports: [spec] })), 400),
  );
  it('the same port twice', async () =>
    refused(await api('POST', '/api/vms', createBody({ ports: ['18125:80', '18125:80'] })), 400));
});

describe('path parameters', () => {
  const params = [
    ['%2F', 'a%2Fb'],
    ['a traversal with %2F', '..%2F..%2F..%2Fx'],
    ['%00', 'a%00b'],
    ['%0A', 'a%0Ab'],
    ['an escape sequence', 'a%1B%5B31m'],
    ['an RTL override', 'a%E2%80%AEb'],
  ];
  /** Longer than fastify's limit on a path parameter: no route matches it. */
  const long = 'a'.repeat(400);
  it('a 400-character name: no such route', async () => {
    await refused(await api('GET', `/api/vms/${long}`), 404);
    await refused(await api('DELETE', `/api/vms/${long}?force=1`, {}), 404);
    await refused(await api('POST', `/api/vms/${long}/start`, {}), 404);
    await refused(await api('PATCH', `/api/vms/${long}`, { cpus: 1 }), 404);
  });
  it.each(params)('GET /api/vms/(%s)', async (_label, p) => refused(await api('GET', `/api/vms/${p}`), 400));
  it.each(params)('DELETE /api/vms/(%s)', async (_label, p) =>
    refused(await api('DELETE', `/api/vms/${p}?force=1`), 400),
  );
  it.each(params)('POST /api/vms/(%s)/start', async (_label, p) =>
    refused(await api('POST', `/api/vms/${p}/start`, {}), 400),
  );
  it.each(params)('PATCH /api/vms/(%s)', async (_label, p) =>
    refused(await api('PATCH', `/api/vms/${p}`, { cpus: 1 }), 400),
  );
  it('a name that could be a VM but is not: 404', async () =>
    refused(await api('GET', `/api/vms/${encodeURIComponent(`${scope.prefix}nope $(id) <&'">`)}`), 404));
  it('dot-dot: not a VM', async () => refused(await api('GET', '/api/vms/..'), /^40[04]$/));
  it.each([
    ['%0A', 'a%0Ab'],
    ['%00', 'a%00b'],
    ['a slash', 'a%2Fb'],
  ])('DELETE /api/vms/NAME/ports/(%s)', async (_label, p) =>
    refused(await api('DELETE', `/api/vms/${existing}/ports/${p}`), 400),
  );
  it('PATCH an existing VM with wrong types and extra keys', async () => {
    await refused(await api('PATCH', `/api/vms/${existing}`, { cpus: true }), 400);
    await refused(await api('PATCH', `/api/vms/${existing}`, { cpus: 1, name: 'other' }), 400);
    await refused(await api('PATCH', `/api/vms/${existing}`, { memory: '100T' }), 400);
  });
  it('POST ports with hostile specs', async () => {
    await refused(await api('POST', `/api/vms/${existing}/ports`, { specs: ['0:80'] }), 400);
    await refused(await api('POST', `/api/vms/${existing}/ports`, { specs: 'a' }), 400);
    await refused(await api('POST', `/api/vms/${existing}/ports`, { specs: [] }), 400);
    await refused(
      await api('POST', `/api/vms/${existing}/ports`, {
        specs: Array.from({ length: 10_000 }, (_, i) => `${20_000 + i}:80`),
      }),
      /^4\d\d$/,
    );
  });
  it('POST stop with a timeout that is not one', async () =>
    refused(await api('POST', `/api/vms/${existing}/stop`, { timeout: -1 }), 400));
});

describe('image names (issue 15 finding 4: a traversal deleted a file)', () => {
  it.each([
    ['a traversal', `..%2F..%2F..%2F${scope.prefix}victim`],
    ['an encoded dot-dot', '%2E%2E'],
    ['%00', 'debian-12%00'],
    ['a newline', 'debian-12%0Ax'],
  ])('DELETE /api/images/(%s)', async (_label, ref) =>
    refused(await api('DELETE', `/api/images/${ref}?force=1`), 400),
  );
  it.each([`../../../${'x'}`, 'a/b', 'debian-12\n', '', 'x'.repeat(300)])(
    'POST /api/images/pull %j',
    async (ref) => refused(await api('POST', '/api/images/pull', { ref }), 400),
  );
});

// A pasted VM file (POST /api/apply, the console's "Apply a file…"): the hostile files of vm-file.test.ts, now
// from a page, each refused at its place in the text ("pasted file:LINE:COL") with nothing changed; and what only
// a pasted file meets: no directory for a relative path, no prune.
describe('a pasted VM file', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
    'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
    `name: ${scope.name('x')}`,
  ].join('\n');
  it.each([
    ['an alias bomb', bomb, /^pasted file:1:1: aliases expand too far/],
    [
      'deep nesting',
      `name: x\nkernel: ${'['.repeat(30000)}${']'.repeat(30000)}\n`,
      /^pasted file:2:\d+: nested/,
    ],
    [
      'a file over 1 MiB',
      `name: x\n#${'x'.repeat(1024 ** 2)}\n`,
      /^pasted file:1:1: the file is over 1048576/,
    ],
    ['a tab', 'name: x\ncloudInit:\n\tuser: x\n', /^pasted file:3:1: a tab is used to indent/],
    [
      'a duplicate key',
      'name: x\nmemory: 1G\nmemory: 64G\n',
      /^pasted file:3:1: key `memory`: a key is given twice/,
    ],
    ['a wrong type', 'name: x\ncpus: [1]\n', /^pasted file:2:7: key `cpus`: expected number/],
    [
      'an unknown key',
      'name: x\nqemuArgs: [-device, evil]\n',
      /^pasted file:2:1: key `qemuArgs`: unknown key/,
    ],
    ['a hostile name', 'name: "../../x\\n"\n', /^pasted file:1:7: key `name`: 1–63 letters/],
    [
      'a relative path',
      `name: ${scope.name('r')}\nimage: base.qcow2\n`,
      /^pasted file:1:1: key `image`: .*relative path/,
    ],
  ])('%s', async (_label, yaml, message) => {
    const r = await api('POST', '/api/apply', { yaml });
    await refused(r, 400, 'VM_FILE_INVALID');
    expect((JSON.parse(r.body) as { error: { message: string } }).error.message).toMatch(message);
  });

  it('sharing the whole home directory', async () =>
    refused(
      await api('POST', '/api/apply', { yaml: `name: ${scope.name('h')}\nmounts:\n  - host: '~/'\n` }),
      400,
      'MOUNT_HOME',
    ));

  it('a prune, and a body over 2 MiB (unread)', async () => {
    await refused(await api('POST', '/api/apply', { yaml: `name: ${existing}\n`, prune: true }), 400);
    await refused(await bigPost('/api/apply', JSON.stringify({ yaml: 'x'.repeat(3 * 1024 ** 2) })), 413);
  });
});
