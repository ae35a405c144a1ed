// Tests only: validates manifests against the published OpenAPI (Swagger 2.0) schemas shipped under
// test/fixtures/kubevirt/ (see its README for where each file comes from). No cluster, no download.
//
// Swagger 2.0 definitions are JSON Schema draft 4 objects; ajv reads them as they are, with three changes that
// make the check what the API server does on `kubectl apply` (field validation Strict):
//  - an object that lists its properties takes no others (an unknown or misspelt field fails);
//  - int-or-string (a Service's targetPort, a Quantity-like field) takes an integer or a string;
//  - the int32/int64/byte formats are not checked (ajv has no built-in for them; the types still are).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubevirtOptions, KubevirtSource } from './types.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/kubevirt');

type Schema = Record<string, unknown>;

/** The KubeVirt API (kubevirt/kubevirt), the CDI API (containerized-data-importer), and a core/v1 subset. */
const SCHEMA_FILES = {
  kubevirt: 'kubevirt-swagger.json',
  cdi: 'cdi-swagger.json',
  core: 'core-v1.schema.json',
} as const;

export type SchemaSet = keyof typeof SCHEMA_FILES;

/** Which definition checks which kind, as `kubectl apply` would pick it by apiVersion and kind. */
const DEFINITION_OF: Readonly<Record<string, [SchemaSet, string]>> = {
  'kubevirt.io/v1/VirtualMachine': ['kubevirt', 'v1.VirtualMachine'],
  'cdi.kubevirt.io/v1beta1/DataVolume': ['cdi', 'v1beta1.DataVolume'],
  'v1/Service': ['core', 'io.k8s.api.core.v1.Service'],
  'v1/Secret': ['core', 'io.k8s.api.core.v1.Secret'],
};

const INT_OR_STRING = /(^|\.)intstr\.IntOrString$/;

/** Every schema node that lists properties is closed; int-or-string takes either. Returns a new tree. */
export function strictDefinitions(definitions: Record<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [name, schema] of Object.entries(definitions)) {
    out[name] = INT_OR_STRING.test(name)
      ? { anyOf: [{ type: 'integer' }, { type: 'string' }] }
      : (closeObjects(schema) as Schema);
  }
  return out;
}

function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const copy: Schema = {};
  for (const [k, v] of Object.entries(node as Schema)) {
    // `properties` maps field names to schemas: close each schema, never treat a field name as a keyword.
    copy[k] =
      k === 'properties' && v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v as Schema).map(([f, s]) => [f, closeObjects(s)]))
        : closeObjects(v);
  }
  if (copy.properties !== undefined && copy.additionalProperties === undefined)
    copy.additionalProperties = false;
  return copy;
}

function loadDefinitions(set: SchemaSet): Record<string, Schema> {
  const doc = JSON.parse(readFileSync(join(FIXTURES, SCHEMA_FILES[set]), 'utf8')) as {
    definitions: Record<string, Schema>;
  };
  return set === 'core' ? doc.definitions : strictDefinitions(doc.definitions);
}

export class ManifestValidator {
  // KubeVirt's schema has hundreds of definitions: one function per definition (no inlining) and no meta-schema
  // check of the published files keep compiling it to seconds rather than tens of seconds.
  private readonly ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: false,
    inlineRefs: false,
    validateSchema: false,
    code: { optimize: false },
  });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    for (const set of Object.keys(SCHEMA_FILES) as SchemaSet[]) {
      this.ajv.addSchema({ $id: set, definitions: loadDefinitions(set) });
    }
  }

  /** The validator for one definition of one schema set, e.g. ('kubevirt', 'v1.VirtualMachine'). */
  definition(set: SchemaSet, name: string): ValidateFunction {
    const key = `${set}#/definitions/${name}`;
    let fn = this.compiled.get(key);
    if (fn === undefined) {
      fn = this.ajv.getSchema(key);
      if (fn === undefined) throw new Error(`no definition ${name} in ${SCHEMA_FILES[set]}`);
      this.compiled.set(key, fn);
    }
    return fn;
  }

  /** Compiles every definition the manifests are checked against (the slow part, done once). */
  compileAll(): void {
    for (const target of Object.values(DEFINITION_OF)) this.definition(...target);
  }

  /** The schema errors of one manifest, picked by its apiVersion and kind; [] when it is valid. */
  errors(manifest: unknown): string[] {
    const m = manifest as { apiVersion?: unknown; kind?: unknown };
    const target = DEFINITION_OF[`${String(m.apiVersion)}/${String(m.kind)}`];
    if (target === undefined)
      return [`no schema for apiVersion ${String(m.apiVersion)} kind ${String(m.kind)}`];
    const validate = this.definition(...target);
    return validate(manifest) ? [] : (validate.errors ?? []).map(describe);
  }
}

function describe(e: ErrorObject): string {
  const extra = e.keyword === 'additionalProperties' ? ` '${String(e.params.additionalProperty)}'` : '';
  return `${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
}

// Sample VM descriptions for the tests and docs/kubevirt.md: one per way a laptop VM can differ (firmware,
// image source, ports, cloud-init, mounts, bridges, a name Kubernetes refuses).

export const DEBIAN_URL =
  'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2';

const USER_DATA = [
  '#cloud-config',
  'users:',
  '  - name: me',
  '    sudo: ALL=(ALL) NOPASSWD:ALL',
  '    ssh_authorized_keys:',
  '      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTestsOnly me@laptop',
  '',
].join('\n');

export interface Sample {
  title: string;
  src: KubevirtSource;
  opts?: KubevirtOptions;
}

export const SAMPLES: readonly Sample[] = [
  {
    title: 'UEFI, http image pinned by sha256, tcp and udp forwards, cloud-init, a mount',
    src: {
      name: 'web',
      image: { ref: 'debian-12', url: DEBIAN_URL, sha256: 'ab'.repeat(32) },
      cpus: 2,
      memoryMiB: 2048,
      diskGiB: 20,
      firmware: 'uefi',
      ports: [
        { proto: 'tcp', hostPort: 2222, guestPort: 22, address: '127.0.0.1' },
        { proto: 'tcp', hostPort: 8080, guestPort: 80 },
        { proto: 'udp', hostPort: 5353, guestPort: 53, address: '127.0.0.1' },
      ],
      mounts: [{ hostDir: '/home/me/src', guestDir: '/src', readOnly: true }],
      cloudInit: { userData: USER_DATA, networkConfig: 'version: 2\nethernets: {}\n' },
    },
  },
  {
    title: 'BIOS, a local image file, no cloud-init, no ports',
    src: {
      name: 'tiny',
      image: { path: '/home/me/.local/share/roost/images/tiny.qcow2' },
      cpus: 1,
      memoryMiB: 256,
      diskGiB: 1,
      firmware: 'bios',
      ports: [],
      mounts: [],
    },
  },
  {
    title: 'registry image, NodePort, starts at login, user-data over the inline limit, a name to fix',
    src: {
      name: 'Build_Box.1',
      image: { ref: 'quay.io/containerdisks/fedora:41' },
      cpus: 4,
      memoryMiB: 8192,
      diskGiB: 64,
      firmware: 'uefi',
      ports: [
        { proto: 'tcp', hostPort: 30022, guestPort: 22 },
        { proto: 'udp', hostPort: 9000, guestPort: 9000 },
      ],
      mounts: [],
      cloudInit: { userData: `${USER_DATA}runcmd:\n${'  - echo build box ready\n'.repeat(120)}` },
      autostart: true,
    },
    opts: { serviceType: 'NodePort' },
  },
  {
    title: 'docker:// URL, a bridge NIC, a namespace and a storage class',
    src: {
      name: 'db',
      image: { url: 'docker://quay.io/containerdisks/ubuntu@sha256:' + 'cd'.repeat(32) },
      cpus: 2,
      memoryMiB: 4096,
      diskGiB: 40,
      firmware: 'bios',
      ports: [{ proto: 'tcp', hostPort: 5432, guestPort: 5432, address: '0.0.0.0' }],
      mounts: [{ hostDir: '/srv/pgdata', guestDir: '/var/lib/postgresql', readOnly: false }],
      bridges: ['virbr0'],
      cloudInit: { userData: USER_DATA },
    },
    opts: { namespace: 'lab', storageClassName: 'fast-ssd', runStrategy: 'RerunOnFailure' },
  },
];
