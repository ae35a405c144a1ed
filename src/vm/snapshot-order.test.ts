import { describe, expect, it } from 'vitest';
import { orderSnapshots } from './snapshot-order.js';

const snap = (name: string, creationTime: number | undefined, parent?: string) => ({
  name,
  creationTime,
  parent,
});
const names = (s: { name: string }[]) => s.map((x) => x.name);

describe('orderSnapshots', () => {
  it('lists the oldest first', () => {
    expect(names(orderSnapshots([snap('c', 30, 'b'), snap('a', 10), snap('b', 20, 'a')]))).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('puts a parent before its child taken within the same second, whatever the names or the input order', () => {
    // A chain taken in one second, named so that name order is the reverse of the chain.
    const chain = [snap('z', 100), snap('y', 100, 'z'), snap('x', 100, 'y')];
    for (const input of [chain, [...chain].reverse(), [chain[1]!, chain[2]!, chain[0]!]]) {
      expect(names(orderSnapshots(input))).toEqual(['z', 'y', 'x']);
    }
  });

  it('orders unrelated snapshots of one second by name, the same way every time', () => {
    const siblings = [snap('root', 5), snap('b', 7, 'root'), snap('a', 7, 'root'), snap('other', 7)];
    const once = names(orderSnapshots(siblings));
    expect(once).toEqual(['root', 'a', 'b', 'other']);
    expect(names(orderSnapshots([...siblings].reverse()))).toEqual(once);
  });

  it('keeps a child after its parent even when the clock went back between them', () => {
    expect(names(orderSnapshots([snap('later', 50, 'first'), snap('first', 60)]))).toEqual([
      'first',
      'later',
    ]);
  });

  it('takes a missing parent or creation time as none, and ends on a parent loop', () => {
    expect(names(orderSnapshots([snap('b', 20, 'gone'), snap('a', undefined)]))).toEqual(['a', 'b']);
    expect(names(orderSnapshots([snap('p', 1, 'q'), snap('q', 1, 'p')]))).toEqual(['p', 'q']);
  });

  it('leaves its input as it was', () => {
    const input = [snap('b', 2), snap('a', 1)];
    orderSnapshots(input);
    expect(names(input)).toEqual(['b', 'a']);
  });
});
