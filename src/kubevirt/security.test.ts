// The promises of docs/security.md §9 (KubeVirt export): the user-data (ssh keys, password hashes, whatever the
// user's cloud-config holds) is never inline in the VirtualMachine, only in a Secret it names; no manifest has a
// hostPath or any host directory of a shared folder; every name is a DNS label Kubernetes takes, whatever the
// VM is called; and the YAML carries no anchor, alias or tag, whatever the domain's or guest's text holds.
import { isAlias, isNode, parseAllDocuments, visit } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildKubevirtManifests, kubevirtYaml } from './index.js';
import { SAMPLES } from './testing.js';
import type { KubevirtSource } from './types.js';

const HASH =
  '$6$rounds=4096$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789ab';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISecretishKeyMaterialForTheTest me@laptop';
const USER_DATA = [
  '#cloud-config',
  'users:',
  '  - name: me',
  `    passwd: "${HASH}"`,
  '    ssh_authorized_keys:',
  `      - ${KEY}`,
  'chpasswd:',
  '  users:',
  '    - {name: root, password: hunter2, type: text}',
  '',
].join('\n');

const base = SAMPLES[0]!.src;
const withSecrets: KubevirtSource = { ...base, cloudInit: { userData: USER_DATA } };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function byKind(src: KubevirtSource): Record<string, Json> {
  return Object.fromEntries(buildKubevirtManifests(src).manifests.map((m) => [m.kind, m]));
}

describe('secrets in the user-data', () => {
  it('go in a Secret the VirtualMachine names, never inline in its spec, short or long', () => {
    for (const userData of [USER_DATA, `${USER_DATA}${'# padding\n'.repeat(400)}`]) {
      const kinds = byKind({ ...base, cloudInit: { userData } });
      const vm = JSON.stringify(kinds.VirtualMachine);
      for (const secret of [HASH, KEY, 'hunter2']) expect(vm).not.toContain(secret);
      expect(vm).not.toContain('userData');
      expect(kinds.Secret.stringData.userdata).toBe(userData);
      expect(kinds.VirtualMachine.spec.template.spec.volumes[1].cloudInitNoCloud).toEqual({
        secretRef: { name: kinds.Secret.metadata.name },
      });
    }
  });

  it('are not in the notes (the comments and the warnings)', () => {
    const { notes } = buildKubevirtManifests(withSecrets);
    for (const secret of [HASH, KEY, 'hunter2']) expect(notes.join('\n')).not.toContain(secret);
  });
});

describe('shared folders', () => {
  it('never become a hostPath volume, nor name a host directory in any manifest', () => {
    const hostile: KubevirtSource = {
      ...base,
      mounts: [
        { hostDir: '/etc', guestDir: '/host', readOnly: false },
        { hostDir: '/home/me/.ssh', guestDir: '/keys', readOnly: true },
      ],
    };
    for (const src of [hostile, ...SAMPLES.map((s) => s.src)]) {
      const stream = kubevirtYaml(buildKubevirtManifests(src));
      const docs = parseAllDocuments(stream).map((d) => JSON.stringify(d.toJSON()));
      expect(docs.some((d) => d.includes('hostPath'))).toBe(false);
      for (const m of src.mounts) expect(docs.some((d) => d.includes(`"${m.hostDir}`))).toBe(false);
    }
  });
});

describe('names', () => {
  const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const HOSTILE = [
    'Web',
    'web.example.com',
    '9lives',
    'a_b',
    '-lead',
    'trail-',
    'x'.repeat(100),
    'a..b',
    'ÜBER',
    '${HOME}',
    'a'.repeat(62) + '-b',
  ];

  it('of every object and label are DNS-1123 labels of 63 at most, whatever the VM is called', () => {
    for (const name of HOSTILE) {
      for (const m of buildKubevirtManifests({ ...withSecrets, name }).manifests as Json[]) {
        const names = [m.metadata.name, ...Object.values(m.metadata.labels as Record<string, string>)];
        for (const n of names) {
          expect(n, `${name} → ${n}`).toMatch(DNS_LABEL);
          expect(n.length).toBeLessThanOrEqual(63);
        }
      }
    }
  });
});

describe('the YAML stream', () => {
  const tricky = '&anchor *alias !!python/object:os.system [x] {y} "q" \'s\' --- ... # c';

  it('has no anchor, alias or tag, even when names, paths and user-data look like YAML syntax', () => {
    const src: KubevirtSource = {
      ...withSecrets,
      name: 'web',
      image: { path: `/tmp/${tricky}.qcow2` },
      mounts: [{ hostDir: `/srv/${tricky}`, guestDir: '/x', readOnly: false }],
      bridges: [tricky],
      cloudInit: { userData: `#cloud-config\nruncmd: ["echo ${tricky.replace(/"/g, '')}"]\n# ${tricky}\n` },
    };
    const result = buildKubevirtManifests(src);
    const docs = parseAllDocuments(kubevirtYaml(result));
    expect(docs.map((d) => d.errors)).toEqual(docs.map(() => []));
    for (const doc of docs) {
      visit(doc, (_key, node) => {
        if (isAlias(node)) throw new Error(`alias in ${doc.toString()}`);
        if (isNode(node)) {
          expect(node.anchor).toBeUndefined();
          expect(node.tag).toBeUndefined();
        }
      });
    }
    expect(docs.map((d) => d.toJSON())).toEqual(JSON.parse(JSON.stringify(result.manifests)));
  });

  it('writes an object the builder shares between two places twice, never as an alias', () => {
    const labels = { 'app.kubernetes.io/name': 'web' };
    const shared = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web', labels, annotations: labels },
    };
    const text = kubevirtYaml({ manifests: [shared], notes: [] });
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parseAllDocuments(text)[0]!.toJSON().metadata.annotations).toEqual(labels);
  });
});
