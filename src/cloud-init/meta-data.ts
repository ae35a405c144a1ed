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

/**
 * network-config (version 2): DHCP on the VM's NIC, matched by its MAC when known, else by name (e*: eth0,
 * ens3, enp1s0 — whatever the guest's naming scheme gives the one virtio NIC).
 */
export function buildNetworkConfig(o: { mac?: string } = {}): string {
  if (o.mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(o.mac))
    throw new Error(`invalid MAC address '${o.mac}'`);
  const match = o.mac ? { macaddress: o.mac.toLowerCase() } : { name: 'e*' };
  return stringify({ version: 2, ethernets: { primary: { match, dhcp4: true } } });
}
