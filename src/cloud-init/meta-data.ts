// meta-data and network-config of the NoCloud seed.
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';

/**
 * A new instance id for every VM creation: cloud-init runs its once-per-instance modules (users, keys, hostname)
 * when the id changes, so a VM re-created under the same name is provisioned afresh.
 */
export function newInstanceId(): string {
  return `roost-${randomUUID()}`;
}

export function buildMetaData(o: { instanceId: string; hostname: string }): string {
  return stringify({ 'instance-id': o.instanceId, 'local-hostname': o.hostname });
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

/**
 * network-config (version 2): DHCP on the VM's NIC, matched by its MAC when known, else by name (e*: eth0,
 * ens3, enp1s0 — whatever the guest's naming scheme gives the one virtio NIC). Further NICs (`--network user
 * --network bridge=virbr0`) get DHCP too, but not their routes or DNS: the first NIC keeps the default route, so
 * a host-only bridge never takes the guest's way out.
 */
export function buildNetworkConfig(o: { mac?: string; otherMacs?: string[] } = {}): string {
  for (const mac of [...(o.mac === undefined ? [] : [o.mac]), ...(o.otherMacs ?? [])])
    if (!MAC.test(mac)) throw new Error(`invalid MAC address '${mac}'`);
  const match = o.mac ? { macaddress: o.mac.toLowerCase() } : { name: 'e*' };
  const others = Object.fromEntries(
    (o.otherMacs ?? []).map((mac, i) => [
      `nic${i + 1}`,
      {
        match: { macaddress: mac.toLowerCase() },
        dhcp4: true,
        'dhcp4-overrides': { 'use-routes': false, 'use-dns': false },
      },
    ]),
  );
  return stringify({ version: 2, ethernets: { primary: { match, dhcp4: true }, ...others } });
}
