import { describe, expect, it } from 'vitest';
import { isSelected } from './options.js';

describe('isSelected', () => {
  it('runs every part when neither --only nor --skip is given', () => {
    expect(isSelected('boot-ssh', '', '')).toBe(true);
  });

  it('--only runs the parts named (comma-separated, spaces allowed) and nothing else', () => {
    expect(isSelected('boot-ssh', 'boot-ssh', '')).toBe(true);
    expect(isSelected('cli', 'rpc, cli', '')).toBe(true);
    expect(isSelected('rpc', 'boot-ssh', '')).toBe(false);
    // A name is a whole name, not a prefix.
    expect(isSelected('boot', 'boot-ssh', '')).toBe(false);
  });

  it('--skip leaves out the parts named, also from an --only list', () => {
    expect(isSelected('boot-ssh', '', 'boot-ssh')).toBe(false);
    expect(isSelected('rpc', '', 'boot-ssh,cli')).toBe(true);
    expect(isSelected('cli', 'rpc,cli', 'cli')).toBe(false);
  });
});
