// Which IP version a string is written in — net.isIP's answer (4, 6 or 0 for neither) without loading node:net:
// that module brings Node's socket and stream machinery, and the port checks of every command that reads a
// domain (`roost ls`) would load it just for this. ip-literal.test.ts holds it to net.isIP, case by case.

export function ipVersion(text: string): 0 | 4 | 6 {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return 0;
}

/** Dotted decimal, four parts of 0–255, no leading zeros (which some parsers read as octal). */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * Eight groups of 1–4 hex digits, or fewer with one `::` standing for the missing ones; the last two groups
 * may be written as an IPv4 address (::ffff:192.0.2.1); a `%zone` suffix (fe80::1%eth0) is allowed.
 */
export function isIPv6(text: string): boolean {
  const percent = text.indexOf('%');
  if (percent !== -1) {
    if (!/^[0-9A-Za-z.:-]+$/.test(text.slice(percent + 1))) return false;
    text = text.slice(0, percent);
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const end = halves.length === 2 ? tail : head;
  let count = head.length + tail.length;
  if (end.length > 0 && end[end.length - 1]!.includes('.')) {
    if (!isIPv4(end.pop()!)) return false;
    count++; // four bytes: two groups' worth, of which one is already counted
  }
  if (![...head, ...tail].every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}
