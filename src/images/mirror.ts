// Download mirrors: rewrite an image's (and its checksum file's) URL before fetching. The checksum is still the
// one published upstream… as served by the mirror: a mirror is trusted to be a faithful copy, so point
// ROOST_IMAGE_MIRROR only at mirrors you trust (a local cache, your company's mirror).
//
// ROOST_IMAGE_MIRROR holds rules separated by spaces or commas:
//   FROM=TO   a URL starting with FROM gets TO instead of that prefix
//             (https://cloud.debian.org/images/cloud/=http://mirror.lan/debian-cloud/)
//   TO        any URL: TO + "/" + host + path  (one mirror for every distribution, laid out by host:
//             https://cloud.debian.org/images/x.qcow2 → http://mirror.lan/cloud.debian.org/images/x.qcow2)
// Rules from the environment come before those of images.yaml; the first that matches wins.
import { UsageError } from '../errors.js';

export interface MirrorRule {
  /** Prefix to replace; absent: any URL, laid out by host under `to`. */
  from?: string;
  to: string;
}

function checkUrl(u: string, what: string): string {
  if (!/^https?:\/\//.test(u) || !URL.canParse(u)) {
    throw new UsageError('IMAGE_MIRROR_INVALID', `ROOST_IMAGE_MIRROR: ${what} '${u}' is not an http(s) URL`, {
      hint: 'use FROM=TO prefix pairs or one mirror URL, e.g. ROOST_IMAGE_MIRROR=http://mirror.lan/images',
    });
  }
  return u;
}

export function parseMirrorEnv(value: string | undefined): MirrorRule[] {
  if (!value?.trim()) return [];
  return value
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((rule) => {
      const eq = rule.indexOf('=');
      if (eq < 0) return { to: checkUrl(rule, 'mirror') };
      return { from: checkUrl(rule.slice(0, eq), 'prefix'), to: checkUrl(rule.slice(eq + 1), 'mirror') };
    });
}

export function applyMirrors(url: string, rules: readonly MirrorRule[]): string {
  for (const r of rules) {
    if (r.from === undefined) {
      const u = new URL(url);
      return `${r.to.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`;
    }
    if (url.startsWith(r.from)) return r.to + url.slice(r.from.length);
  }
  return url;
}
