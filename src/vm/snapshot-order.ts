// The order `roost snapshot ls` shows a VM's snapshots in: oldest first. libvirt records a snapshot's creation time
// in whole seconds, so two taken within one second tie, and libvirt's own listing order is then open: among
// snapshots of one time a parent always comes before its children (it was taken first), and the name settles the
// rest, so the same snapshots are listed the same way every time.
import type { ParsedSnapshot } from '../domain-xml/snapshot-xml.js';

type Ordered = Pick<ParsedSnapshot, 'name' | 'parent' | 'creationTime'>;

/** Oldest first; a parent before its children whatever the clock says; then by name. */
export function orderSnapshots<T extends Ordered>(snaps: readonly T[]): T[] {
  const byTimeThenName = [...snaps].sort(
    (a, b) =>
      (a.creationTime ?? 0) - (b.creationTime ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const names = new Set(snaps.map((s) => s.name));
  const placed = new Set<string>();
  const out: T[] = [];
  while (out.length < byTimeThenName.length) {
    // The first not yet placed whose parent is placed (or not among these snapshots); a parent chain that
    // loops, which libvirt never writes, falls back to the time order rather than looping here.
    const next =
      byTimeThenName.find(
        (s) =>
          !placed.has(s.name) && (s.parent === undefined || !names.has(s.parent) || placed.has(s.parent)),
      ) ?? byTimeThenName.find((s) => !placed.has(s.name))!;
    placed.add(next.name);
    out.push(next);
  }
  return out;
}
