import { describe, expect, it } from 'vitest';
import { defineFlagsFor } from './create.js';

describe('defineFlagsFor', () => {
  it('asks libvirt < 9.0 (no passt: it would drop <portForward> silently) to validate against its schema', () => {
    expect(defineFlagsFor(8_010_000n)).toBe(1);
    expect(defineFlagsFor(8_999_999n)).toBe(1);
  });

  it('skips the schema pass where libvirt parses everything roost writes', () => {
    expect(defineFlagsFor(9_000_000n)).toBe(0);
    expect(defineFlagsFor(11_003_000n)).toBe(0);
  });
});
