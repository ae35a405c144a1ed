// The manifests against the APIs that will take them: KubeVirt's and CDI's published OpenAPI schemas and a strict
// core/v1 subset (test/fixtures/kubevirt/README.md), as `kubectl apply` checks fields — and proof that the check
// bites: a manifest with a field the API does not know, a wrong type or a missing required field fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildKubevirtManifests } from './index.js';
import { ManifestValidator, SAMPLES, strictDefinitions } from './testing.js';
import type { KubeObject } from './types.js';

const validator = new ManifestValidator();

// Compiling KubeVirt's schema is one slow step (seconds on a busy machine), done once here rather than inside
// whichever test happens to come first.
const COMPILE_TIMEOUT_MS = 60_000;
beforeAll(() => validator.compileAll(), COMPILE_TIMEOUT_MS);

function manifestOf(kind: string, sample = SAMPLES[0]!): Record<string, unknown> {
  const m = buildKubevirtManifests(sample.src, sample.opts).manifests.find((x) => x.kind === kind);
  if (m === undefined) throw new Error(`no ${kind}`);
  return structuredClone(m) as Record<string, unknown>;
}

/** Sets a value deep in a plain object by a path of keys and indexes. */
function setPath(obj: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node = obj as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
}

describe('every sample VM gives manifests the APIs accept', () => {
  for (const sample of SAMPLES) {
    it(sample.title, () => {
      const { manifests } = buildKubevirtManifests(sample.src, sample.opts);
      expect(manifests.map((m: KubeObject) => [m.kind, validator.errors(m)])).toEqual(
        manifests.map((m) => [m.kind, []]),
      );
    });
  }

  it('covers each kind the export makes', () => {
    const kinds = new Set(
      SAMPLES.flatMap((s) => buildKubevirtManifests(s.src, s.opts).manifests.map((m) => m.kind)),
    );
    expect([...kinds].sort()).toEqual(['DataVolume', 'Secret', 'Service', 'VirtualMachine']);
  });
});

describe('the validator refuses what the API server would', () => {
  it('a VirtualMachine with a field KubeVirt does not know, anywhere in it', () => {
    const vm = manifestOf('VirtualMachine');
    setPath(vm, ['spec', 'template', 'spec', 'domain', 'devices', 'disks', 0, 'disk', 'buss'], 'virtio');
    expect(validator.errors(vm)).toEqual([
      "/spec/template/spec/domain/devices/disks/0/disk must NOT have additional properties 'buss'",
    ]);
    const top = manifestOf('VirtualMachine');
    setPath(top, ['spec', 'running2'], true);
    expect(validator.errors(top)).toEqual(["/spec must NOT have additional properties 'running2'"]);
  });

  it('a VirtualMachine with a wrong type or without its template', () => {
    const vm = manifestOf('VirtualMachine');
    setPath(vm, ['spec', 'template', 'spec', 'domain', 'cpu', 'cores'], '2');
    expect(validator.errors(vm)).toEqual(['/spec/template/spec/domain/cpu/cores must be integer']);
    const noTemplate = manifestOf('VirtualMachine');
    delete (noTemplate.spec as Record<string, unknown>).template;
    expect(validator.errors(noTemplate)).toEqual(["/spec must have required property 'template'"]);
  });

  it('a DataVolume with a misspelt source field or an http source without its url', () => {
    const dv = manifestOf('DataVolume');
    setPath(dv, ['spec', 'source', 'http'], { uri: 'https://example.invalid/x.qcow2' });
    expect(validator.errors(dv)).toEqual([
      "/spec/source/http must have required property 'url'",
      "/spec/source/http must NOT have additional properties 'uri'",
    ]);
  });

  it('a Service with a port out of range, an unknown type or an unknown field', () => {
    const svc = manifestOf('Service');
    setPath(svc, ['spec', 'ports', 0, 'port'], 70000);
    setPath(svc, ['spec', 'type'], 'HostPort');
    setPath(svc, ['spec', 'hostNetwork'], true);
    expect(validator.errors(svc)).toEqual([
      "/spec must NOT have additional properties 'hostNetwork'",
      '/spec/ports/0/port must be <= 65535',
      '/spec/type must be equal to one of the allowed values',
    ]);
  });

  it('a Secret with a misspelt field, and a kind it has no schema for', () => {
    const secret = manifestOf('Secret', SAMPLES[2]);
    setPath(secret, ['stringdata'], {});
    expect(validator.errors(secret)).toEqual(["/ must NOT have additional properties 'stringdata'"]);
    expect(validator.errors({ apiVersion: 'v1', kind: 'Pod' })).toEqual([
      'no schema for apiVersion v1 kind Pod',
    ]);
  });

  it('closes the published schema: as published, an unknown field would pass', () => {
    const open = { type: 'object', properties: { bus: { type: 'string' } } };
    expect(strictDefinitions({ 'v1.DiskTarget': open })['v1.DiskTarget']).toEqual({
      ...open,
      additionalProperties: false,
    });
    // A field named like a keyword stays a field.
    const tricky = { type: 'object', properties: { properties: { type: 'object', properties: { a: {} } } } };
    expect(strictDefinitions({ t: tricky }).t).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { properties: { type: 'object', additionalProperties: false, properties: { a: {} } } },
    });
  });
});

// What KubeVirt's admission webhook refuses beyond the schema (a disk without its volume, an interface without its
// network, inline user-data over 2048 bytes — roost never inlines it), and references between the objects that
// must resolve in the stream.
describe('the objects fit together as KubeVirt’s webhook and CDI require', () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Json = any;
  const names = (list: Json[] | undefined): string[] => (list ?? []).map((x) => x.name as string).sort();

  for (const sample of SAMPLES) {
    it(sample.title, () => {
      const { manifests } = buildKubevirtManifests(sample.src, sample.opts);
      const vm = manifests.find((m) => m.kind === 'VirtualMachine') as Json;
      const spec = vm.spec.template.spec;
      expect(names(spec.domain.devices.disks)).toEqual(names(spec.volumes));
      expect(names(spec.domain.devices.interfaces)).toEqual(names(spec.networks));
      const present = new Set(manifests.map((m) => `${m.kind}/${m.metadata.name}`));
      for (const v of spec.volumes as Json[]) {
        if (v.dataVolume) expect(present).toContain(`DataVolume/${v.dataVolume.name}`);
        if (v.cloudInitNoCloud?.secretRef)
          expect(present).toContain(`Secret/${v.cloudInitNoCloud.secretRef.name}`);
        expect(v.cloudInitNoCloud?.userData).toBeUndefined();
      }
      expect(['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once']).toContain(vm.spec.runStrategy);
    });
  }
});
