// Every template roost ships (templates/*.yaml, `roost template ls`) exported for KubeVirt gives manifests that
// KubeVirt's, CDI's and Kubernetes' published schemas accept (test/fixtures/kubevirt/). Each template's VM is
// built as create would define it — its size, firmware, networks and forwards in roost's domain XML, parsed back
// as export reads it — with its catalogue entry and a cloud-init user-data for its login user.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildUserData } from '../cloud-init/user-data.js';
import type { VmSpec as DomainSpec } from '../domain-xml/spec.js';
import { listTemplates, loadTemplate } from '../declarative/templates.js';
import type { VmSpec } from '../declarative/schema.js';
import { BUILTIN_IMAGES, findEntry } from '../images/catalog.js';
import { buildKubevirtManifests } from '../kubevirt/index.js';
import { ManifestValidator } from '../kubevirt/testing.js';
import { parsePortForward } from '../net/port-spec.js';
import type { CurrentVm } from './apply-state.js';
import { kubevirtSourceOf, type ImageFacts } from './export-kubevirt.js';
import { currentVmOf } from './export-testing.js';
import { parseDiskBytes, parseMemoryMiB } from './input.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyFakeKeyForTestsOnly me@laptop';
// No user templates: a private config directory that does not exist.
const PATHS = { config: '/nonexistent/roost-test-config' };

const validator = new ManifestValidator();
beforeAll(() => validator.compileAll(), 60_000);

/** The template's VM as roost would define it (its domain XML parsed back), as export reads a VM. */
function vmOf(t: VmSpec): CurrentVm {
  const forwards = (t.ports ?? []).map((text) => {
    const f = parsePortForward(text);
    return {
      proto: f.proto,
      address: f.address,
      hostStart: f.hostStart,
      hostEnd: f.hostEnd,
      guestStart: f.guestStart,
    };
  });
  const spec: Partial<DomainSpec> = {
    name: t.name,
    cpus: t.cpus ?? 1,
    memoryMiB: t.memory === undefined ? 1024 : parseMemoryMiB(String(t.memory)),
    firmware: t.firmware ?? 'uefi',
    network: (t.networks ?? ['user']).map((n) =>
      n === 'user'
        ? { kind: 'user' as const, ports: forwards }
        : { kind: 'bridge' as const, bridge: n.slice(7) },
    ),
    roost: {
      createdBy: 'roost 0.1.0',
      createdAt: '2025-01-02T03:04:05.000Z',
      imageRef: typeof t.image === 'string' ? t.image : t.image?.ref,
      sshUser: t.cloudInit?.user,
    },
  };
  return currentVmOf(spec, {
    diskBytes: t.disk === undefined ? 20 * 1024 ** 3 : parseDiskBytes(String(t.disk)),
    autostart: t.autostart ?? false,
  });
}

function imageFactsOf(t: VmSpec): ImageFacts {
  const ref = typeof t.image === 'string' ? t.image : t.image?.ref;
  const entry = ref === undefined ? undefined : findEntry(BUILTIN_IMAGES, ref);
  return entry === undefined ? {} : { entry };
}

const shipped = listTemplates(PATHS).filter((t) => t.source === 'shipped');

describe('every shipped template, exported for KubeVirt', () => {
  it('is at least the catalogue distributions and the tiny test VM', () => {
    expect(shipped.map((t) => t.name)).toEqual(expect.arrayContaining(['debian-12', 'ubuntu-24.04', 'tiny']));
  });

  for (const info of shipped) {
    it(`${info.name}: manifests the APIs accept`, () => {
      const t = loadTemplate(PATHS, info.name);
      const userData = buildUserData({
        user: t.cloudInit?.user ?? 'roost',
        sshPublicKeys: [KEY],
        hostname: t.name,
        extra: {},
      });
      const { src } = kubevirtSourceOf(vmOf(t), imageFactsOf(t), { path: '/seed.iso', userData });
      const { manifests } = buildKubevirtManifests(src, {});
      expect(manifests.length).toBeGreaterThanOrEqual(2);
      expect(manifests.map((m) => [m.kind, validator.errors(m)])).toEqual(manifests.map((m) => [m.kind, []]));
      // A catalogue template's disk comes from the catalogue's URL, never from a file on this machine.
      if (imageFactsOf(t).entry?.url !== undefined) expect(src.image.url).toBe(imageFactsOf(t).entry!.url);
    });
  }
});
