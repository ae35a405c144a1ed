// roost web: the local web console and REST API (docs/web.md, docs/api.md). Prints a one-time login link and
// serves until Ctrl-C; the API token for scripts is in a 0600 file, never on a command line.
// roost web link: a new login link from the server that runs (found through its record file).
import { Option, type Command } from '@commander-js/extra-typings';
import { UsageError } from '../../errors.js';
import { runAction } from '../action.js';
import type { Output } from '../output.js';
import { stderrStream, stdoutStream, writeStdout } from '../stdio.js';
import type { WebLinkInfo, WebServerInfo } from '../../shared/web.js';

export function define(program: Command): void {
  const web = program
    .command('web')
    .description('serve the web console and REST API on 127.0.0.1 (Ctrl-C to stop)')
    .option('--port <n>', 'TCP port (default: a free one)', '0')
    .option(
      '--listen <addr>',
      'address to listen on (default 127.0.0.1; anything else exposes your VMs to the network)',
    )
    .option('--unix <path>', 'also serve the API on this UNIX socket (mode 0600, no token needed)')
    .option('--open', 'open the console in your browser ($BROWSER, else xdg-open)')
    .addOption(new Option('--json', 'print {url, origin, port, tokenFile, unix} as one JSON line'))
    .addHelpText(
      'after',
      `
Examples:
  roost web                                  then open the printed http://127.0.0.1:PORT/#login=… link
  roost web --open                           the console in your browser, logged in
  roost web link --open                      a new login link (another browser, or the first one failed)
  roost web --port 8123 --unix ~/.roost.sock
  curl -H @"$XDG_RUNTIME_DIR/roost/web-8123.token" http://127.0.0.1:8123/api/vms
  curl --unix-socket ~/.roost.sock http://localhost/api/vms

A login link works once, for 5 minutes. The API token for scripts is in the file roost web names (0600,
removed when it stops); it never appears on a command line.`,
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out, globals }) => {
        const { createServer, isLocalOnly } = await import('../../server/index.js');
        const { runtimeDir } = await import('../../server/runtime-files.js');
        // A long-running server writes to both (its own log lines too): a reader gone must not crash it.
        stdoutStream();
        stderrStream();
        const port = Number(opts.port);
        const listen = opts.listen ?? '127.0.0.1';
        if (!isLocalOnly(listen)) {
          out.warn(
            `listening on ${listen}: anyone who can reach this address and has a link or the token can drive ` +
              'your VMs, and the traffic (secrets included) is not encrypted; prefer an SSH tunnel to 127.0.0.1',
          );
        }
        // Signals that come while the server starts count too: they stop it as soon as it is up.
        const stopped = waitForStopSignal();
        const server = await createServer({
          uri: globals.connect,
          listen,
          port,
          unixPath: opts.unix,
          runtimeDir: runtimeDir(),
          linkTtlMs: testLinkTtl(process.env),
        });
        const info: WebServerInfo = {
          url: server.url,
          origin: server.origin,
          port: server.port,
          tokenFile: server.tokenFile,
          unix: server.unixPath,
        };
        if (out.json) writeStdout(JSON.stringify(info) + '\n');
        else {
          writeStdout(`roost web: open ${server.url}\n`);
          out.info('  the link works once, for 5 minutes; `roost web link` makes another');
          out.info(`  API token for scripts: curl -H @${server.tokenFile} ${server.origin}/api/vms`);
          if (server.unixPath) out.info(`  UNIX socket (no token): ${server.unixPath}`);
          out.info('  Ctrl-C stops the server');
        }
        if (opts.open) await openInBrowser(server.newLink({ opener: true }).opener!, out);
        const signal = await stopped;
        await server.close();
        // As a shell reports a process that a signal ended: 128 + the signal's number.
        process.exitCode = signal === 'SIGINT' ? 130 : 143;
      }),
    );

  // `--port` is web's own option (commander gives it to the parent wherever it stands); '0' is its default.
  defineLink(web, () => web.opts().port);
}

function defineLink(web: Command, webPort: () => string): void {
  web
    .command('link')
    .description('print a new one-time login link of the running roost web (--port N: of the one on N)')
    .option('--open', 'open the link in your browser ($BROWSER, else xdg-open)')
    .addOption(new Option('--json', 'print {url, expiresAt, origin, port} as one JSON line'))
    .addHelpText(
      'after',
      `
Examples:
  roost web link                             a new link: for another browser, or when the first one failed
  roost web link --open                      the console in your browser, logged in
  roost web --port 8123 link --json          of the server on port 8123, as {url, expiresAt, origin, port}

Each link works once, for 5 minutes; links already handed out stay good until then.`,
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const { findServers, runtimeDir } = await import('../../server/runtime-files.js');
        const dir = runtimeDir();
        const port = webPort();
        const server = pickServer(findServers(dir), port === '0' ? undefined : port, dir);
        const link = await requestLink(server, opts.open === true);
        if (out.json) {
          writeStdout(
            JSON.stringify({
              url: link.url,
              expiresAt: link.expiresAt,
              origin: server.origin,
              port: server.port,
            } satisfies WebLinkInfo) + '\n',
          );
        } else {
          writeStdout(`roost web: open ${link.url}\n`);
          out.info(`  the link works once, until ${link.expiresAt}`);
        }
        if (opts.open && link.opener) await openInBrowser(link.opener, out);
      }),
    );
}

/** Tests see a link expire by shortening its life (never lengthening it) with ROOST_TEST_LINK_TTL_MS. */
function testLinkTtl(env: NodeJS.ProcessEnv): number | undefined {
  const ms = Number(env.ROOST_TEST_LINK_TTL_MS);
  return Number.isInteger(ms) && ms > 0 && ms < 5 * 60_000 ? ms : undefined;
}

/** Resolves with the signal that should stop the server: the first SIGINT or SIGTERM. */
function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Hands the browser a file that redirects to the link: a path in argv, never the secret itself. */
async function openInBrowser(opener: string, out: Output): Promise<void> {
  const { openBrowser } = await import('../open-browser.js');
  // A browser that cannot start is not a reason to stop: the link is printed.
  const failed = (message: string) => out.warn(`${message}: open the printed link yourself`);
  await openBrowser(opener, process.env, failed).then(
    (cmd) => out.info(`  handed the login page to ${cmd}`),
    (e: Error) => failed(e.message),
  );
}

type ServerRecord = import('../../server/runtime-files.js').ServerRecord;

function pickServer(servers: ServerRecord[], port: string | undefined, dir: string): ServerRecord {
  if (port !== undefined) {
    const s = servers.find((r) => String(r.port) === port);
    if (!s) {
      throw new UsageError('WEB_NOT_RUNNING', `no roost web of yours runs on port ${port}`, {
        hint: servers.length
          ? `running: ${servers.map((r) => r.origin).join(', ')}`
          : 'start one with `roost web`',
      });
    }
    return s;
  }
  if (servers.length === 0) {
    throw new UsageError('WEB_NOT_RUNNING', `no roost web of yours is running (none recorded in ${dir})`, {
      hint: 'start one with `roost web`',
    });
  }
  if (servers.length > 1) {
    throw new UsageError('WEB_AMBIGUOUS', `${servers.length} roost web servers are running`, {
      hint: `name one: ${servers.map((r) => `--port ${r.port}`).join(', ')}`,
    });
  }
  return servers[0]!;
}

interface LinkReply {
  url: string;
  expiresAt: string;
  opener: string | null;
}

/** POST /api/links with the API token from the server's token file. */
async function requestLink(server: ServerRecord, opener: boolean): Promise<LinkReply> {
  const { readFileSync } = await import('node:fs');
  const { parseTokenFile } = await import('../../server/runtime-files.js');
  const { RoostError } = await import('../../errors.js');
  const token = parseTokenFile(readFileSync(server.tokenFile, 'utf8'));
  if (!token) {
    throw new RoostError('WEB_TOKEN_UNREADABLE', `${server.tokenFile} holds no API token`, {
      hint: 'restart roost web',
    });
  }
  const url = new URL('/api/links', server.origin);
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ opener }),
  }).catch((e: Error) => {
    throw new RoostError('WEB_UNREACHABLE', `cannot reach roost web at ${server.origin}: ${e.message}`, {
      hint: 'is it still running? start it again with `roost web`',
    });
  });
  const body = (await res.json().catch(() => null)) as
    (LinkReply & { error?: { code: string; message: string } }) | null;
  if (!res.ok || !body || typeof body.url !== 'string') {
    throw new RoostError(
      'WEB_LINK_FAILED',
      `roost web at ${server.origin} gave no link: ${body?.error?.message ?? `HTTP ${res.status}`}`,
    );
  }
  return body;
}
