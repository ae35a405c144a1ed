// passt port forwards in libvirt's words (formatdomain, "Userspace (SLIRP or passt) connection"):
//   <portForward proto='tcp' address='127.0.0.1'>
//     <range start='8000' end='8010' to='9000'/>   host 8000-8010 → guest 9000-9010
//     <range start='8005' exclude='yes'/>           …but not host port 8005
//   </portForward>
// `to` is the guest port of `start` (absent: same as the host port); `address` is the host address to listen on
// (absent: all of them); ranges are grouped per (proto, address, dev). roost writes one portForward per
// (proto, address) and never writes exclusions, but reads them and keeps them when editing.
import { checkPortForward } from './check.js';
import { DEFAULT_PORT_ADDRESS, type PortForwardSpec, type PortProto } from './spec.js';
import { childElements, element, type XmlElement } from './xml.js';

/** An `exclude='yes'` range of a hand-made domain: host ports that a broader forward leaves out. */
export interface PortExclusion {
  proto: PortProto;
  address: string;
  hostStart: number;
  hostEnd?: number;
}

export function buildPortForwards(ports: readonly PortForwardSpec[]): XmlElement[] {
  const groups = new Map<string, XmlElement>();
  ports.forEach((port, i) => {
    checkPortForward(port, `port ${i + 1}`);
    const address = port.address ?? DEFAULT_PORT_ADDRESS;
    const key = `${port.proto} ${address}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = element('portForward', { proto: port.proto, address: address === '' ? undefined : address });
      groups.set(key, group);
    }
    group.children.push(rangeElement(port));
  });
  return [...groups.values()];
}

export function rangeElement(port: PortForwardSpec): XmlElement {
  const end = port.hostEnd !== undefined && port.hostEnd !== port.hostStart ? port.hostEnd : undefined;
  return element('range', {
    start: port.hostStart,
    end,
    to: port.guestStart === port.hostStart ? undefined : port.guestStart,
  });
}

function portNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*[0-9]{1,5}\s*$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Reads the `<portForward>` children of an `<interface>`; ranges that make no sense are skipped, not fatal. */
export function parsePortForwards(iface: XmlElement): {
  ports: PortForwardSpec[];
  exclusions: PortExclusion[];
} {
  const ports: PortForwardSpec[] = [];
  const exclusions: PortExclusion[] = [];
  for (const pf of childElements(iface, 'portForward')) {
    const proto = pf.attrs.get('proto') === 'udp' ? 'udp' : 'tcp';
    const address = pf.attrs.get('address') ?? '';
    for (const range of childElements(pf, 'range')) {
      const hostStart = portNumber(range.attrs.get('start'));
      if (hostStart === undefined) continue;
      const end = portNumber(range.attrs.get('end'));
      const hostEnd = end !== undefined && end > hostStart ? end : undefined;
      if (range.attrs.get('exclude') === 'yes') {
        exclusions.push({ proto, address, hostStart, ...(hostEnd === undefined ? {} : { hostEnd }) });
        continue;
      }
      const guestStart = portNumber(range.attrs.get('to')) ?? hostStart;
      ports.push({ proto, address, hostStart, ...(hostEnd === undefined ? {} : { hostEnd }), guestStart });
    }
  }
  return { ports, exclusions };
}
