// A small HTTP(S) GET on Node's own http/https: redirects followed, an idle timeout, nothing buffered unless
// asked. (fetch would do, but its body stream hides a dropped connection behind a generic TypeError and gives
// no socket timeout; here a cut mid-body is an 'aborted' error that download.ts turns into a resume.)
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { VERSION } from '../version.js';
import { DownloadError } from './errors.js';

export interface GetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Fail when no byte arrives for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Redirects followed at most (default 10). */
  maxRedirects?: number;
  /** Extra trusted certificates (PEM), e.g. a private mirror's own CA. */
  ca?: string | Buffer;
}

/**
 * Whether a redirect from `from` may be followed: only to http(s), and never from https down to http (a
 * redirect must not take away the transport security the URL asked for; the checksum protects the bytes, not
 * which server learns what is fetched, and a checksum file itself may come over that redirect).
 */
export function redirectRefusal(from: URL, to: URL): string | undefined {
  if (to.protocol !== 'http:' && to.protocol !== 'https:') return `a redirect to a ${to.protocol} URL`;
  if (from.protocol === 'https:' && to.protocol !== 'https:') return 'a redirect from https to http';
  return undefined;
}

export interface GetResult {
  res: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: string;
}

/** GET `url`, following redirects; resolves once the final response's headers are in (any status). */
export function get(url: string, opts: GetOptions = {}): Promise<GetResult> {
  const maxRedirects = opts.maxRedirects ?? 10;
  const once = (current: string, left: number): Promise<GetResult> =>
    new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(current);
      } catch {
        return reject(new DownloadError(current, `invalid URL '${current}'`));
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return reject(new DownloadError(current, `unsupported URL scheme '${u.protocol}' in ${current}`));
      }
      const request = u.protocol === 'https:' ? httpsGet : httpGet;
      const req = request(
        u,
        {
          headers: { 'user-agent': `roost/${VERSION}`, 'accept-encoding': 'identity', ...opts.headers },
          signal: opts.signal,
          ...(opts.ca ? { ca: opts.ca } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400 && status !== 304 && res.headers.location) {
            res.resume();
            if (left <= 0) return reject(new DownloadError(url, `too many redirects fetching ${url}`));
            let next: URL;
            try {
              next = new URL(res.headers.location, u);
            } catch {
              return reject(new DownloadError(url, `${u.host} sent an invalid redirect fetching ${url}`));
            }
            const refusal = redirectRefusal(u, next);
            if (refusal) {
              return reject(
                new DownloadError(
                  url,
                  `refusing ${refusal} (${u.host} → ${next.host || next.protocol}) fetching ${url}`,
                  {
                    hint: 'the mirror may be misconfigured; an http:// mirror can be named directly in ROOST_IMAGE_MIRROR',
                  },
                ),
              );
            }
            return resolve(once(next.href, left - 1));
          }
          resolve({ res, url: current });
        },
      );
      req.setTimeout(opts.idleTimeoutMs ?? 60_000, () =>
        req.destroy(
          new DownloadError(
            current,
            `no data from ${u.host} for ${(opts.idleTimeoutMs ?? 60_000) / 1000} s`,
            {
              retryable: true,
            },
          ),
        ),
      );
      req.on('error', (e) =>
        reject(
          e instanceof DownloadError
            ? e
            : new DownloadError(current, `cannot fetch ${current}: ${e.message}`, {
                cause: e,
                retryable: true,
              }),
        ),
      );
    });
  return once(url, maxRedirects);
}

/** GET a small text document (a checksum file), refusing anything over `maxBytes`. */
export async function getText(url: string, opts: GetOptions & { maxBytes?: number } = {}): Promise<string> {
  const { res } = await get(url, opts);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    throw new DownloadError(url, `cannot fetch ${url}: HTTP ${status}`, {
      status,
      retryable: status >= 500,
    });
  }
  const max = opts.maxBytes ?? 4 << 20;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > max) {
      res.destroy();
      throw new DownloadError(url, `${url} is larger than ${max} bytes: not a checksum file`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
