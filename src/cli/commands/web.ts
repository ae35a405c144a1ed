// roost web: the local web console and REST API (docs/web.md, docs/api.md). Prints the link to open — it
// carries a per-start token and works once — and serves until Ctrl-C.
import { Option, type Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { stderrStream, stdoutStream, writeStdout } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('web')
    .description('serve the web console and REST API on 127.0.0.1 (Ctrl-C to stop)')
    .option('--port <n>', 'TCP port (default: a free one)', '0')
    .option(
      '--listen <addr>',
      'address to listen on (default 127.0.0.1; anything else exposes your VMs to the network)',
    )
    .option('--unix <path>', 'also serve the API on this UNIX socket (mode 0600, no token needed)')
    .option('--open', 'open the link in your browser ($BROWSER, else xdg-open)')
    .addOption(new Option('--json', 'print {url, origin, port, token, unix} as one JSON line'))
    .addHelpText(
      'after',
      `
Examples:
  roost web                                  then open the printed http://127.0.0.1:PORT/?token=… link
  roost web --open                           the console in your browser, logged in
  roost web --port 8123 --unix ~/.roost.sock
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8123/api/vms
  curl --unix-socket ~/.roost.sock http://localhost/api/vms

The link works once (its token becomes a browser cookie); scripts send the token as a Bearer header.`,
    )
    .action(async (opts, cmd) =>
      runAction(cmd, async ({ out, globals }) => {
        const { createServer, isLocalOnly } = await import('../../server/index.js');
        // A long-running server writes to both (its own log lines too): a reader gone must not crash it.
        stdoutStream();
        stderrStream();
        const port = Number(opts.port);
        const listen = opts.listen ?? '127.0.0.1';
        if (!isLocalOnly(listen)) {
          out.warn(
            `listening on ${listen}: anyone who can reach this address and has the token can drive your VMs, ` +
              'and the traffic (token included) is not encrypted; prefer an SSH tunnel to 127.0.0.1',
          );
        }
        const server = await createServer({ uri: globals.connect, listen, port, unixPath: opts.unix });
        const info = {
          url: server.url,
          origin: server.origin,
          port: server.port,
          token: server.token,
          unix: server.unixPath,
        };
        if (out.json) writeStdout(JSON.stringify(info) + '\n');
        else {
          writeStdout(`roost web: open ${server.url}\n`);
          out.info(`  API token (Authorization: Bearer): ${server.token}`);
          if (server.unixPath) out.info(`  UNIX socket: ${server.unixPath}`);
          out.info('  the link works once; Ctrl-C stops the server');
        }
        if (opts.open) {
          const { openBrowser } = await import('../open-browser.js');
          // A browser that cannot start is not a reason to stop serving: the link is printed above.
          const failed = (message: string) => out.warn(`${message}: open the link yourself`);
          await openBrowser(server.url, process.env, failed).then(
            (cmd) => out.info(`  handed the link to ${cmd}`),
            (e: Error) => failed(e.message),
          );
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
      }),
    );
}
