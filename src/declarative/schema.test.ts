import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVmFile } from './parse.js';
import { vmJsonSchema } from './schema.js';

const root = join(import.meta.dirname, '..', '..');

describe('the VM file schema', () => {
  it('is published as docs/roost.schema.json, current (regenerate: roost schema > docs/roost.schema.json)', () => {
    const shipped: unknown = JSON.parse(readFileSync(join(root, 'docs', 'roost.schema.json'), 'utf8'));
    expect(shipped).toEqual(vmJsonSchema());
  });

  it('refuses unknown keys in the JSON Schema too (editors flag them)', () => {
    expect(vmJsonSchema()).toMatchObject({ additionalProperties: false, required: ['name'] });
  });

  it.each(readdirSync(join(root, 'templates')).filter((f) => f.endsWith('.yaml')))(
    'ships template %s valid',
    (f) => {
      const vms = parseVmFile(f, readFileSync(join(root, 'templates', f), 'utf8'));
      expect(vms).toHaveLength(1);
      expect(vms[0]!.spec.name).toBe(f.replace(/\.yaml$/, ''));
    },
  );
});
