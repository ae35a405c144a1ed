// passt's port forwards as one Service per VM. A forward listens on the laptop's address; a Service has no bind
// address, so where the forward was reachable from changes: the notes say how, per forward.
import type {
  IoK8sApiCoreV1Service,
  IoK8sApiCoreV1ServicePort,
} from '@kubevirt-ui-ext/kubevirt-api/kubernetes';
import { DOMAIN_LABEL } from './virtual-machine.js';
import type { KubevirtOptions, KubevirtPort, KubevirtServiceType } from './types.js';

/** The typed models spell targetPort (an int-or-string) as a string; the guest's port is a number here. */
type ServicePort = Omit<IoK8sApiCoreV1ServicePort, 'targetPort' | 'protocol'> & {
  name: string;
  protocol: 'TCP' | 'UDP';
  targetPort: number;
};
export type Service = Omit<IoK8sApiCoreV1Service, 'spec'> & {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  spec: Omit<NonNullable<IoK8sApiCoreV1Service['spec']>, 'ports' | 'type'> & {
    type: KubevirtServiceType;
    selector: Record<string, string>;
    ports: ServicePort[];
  };
};

/** Kubernetes' default NodePort range (--service-node-port-range). */
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

/** The Service for the VM's forwards, or none when it has none. */
export function buildServices(
  ports: readonly KubevirtPort[],
  kubeName: string,
  labels: Record<string, string>,
  opts: KubevirtOptions,
  notes: string[],
): Service[] {
  const type = opts.serviceType ?? 'ClusterIP';
  const servicePorts = uniqueForwards(ports, notes).map((p) => servicePort(p, type, notes));
  if (servicePorts.length === 0) return [];
  for (const p of ports) {
    const note = reachNote(p, type, vmTarget(kubeName, opts.namespace));
    if (note !== undefined) notes.push(note);
  }
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: kubeName,
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        labels,
      },
      spec: { type, selector: { [DOMAIN_LABEL]: kubeName }, ports: servicePorts },
    },
  ];
}

/**
 * One Service port per protocol and laptop port: two forwards that differ only in their listen address (127.0.0.1
 * and ::1) are one port in a Service, which Kubernetes refuses twice.
 */
function uniqueForwards(ports: readonly KubevirtPort[], notes: string[]): KubevirtPort[] {
  const seen = new Map<string, KubevirtPort>();
  for (const p of ports) {
    const key = `${p.proto}/${p.hostPort}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, p);
    else if (first.guestPort !== p.guestPort) {
      notes.push(
        `port ${p.proto} ${p.hostPort}: forwarded to guest ports ${first.guestPort} and ${p.guestPort} from two addresses; a Service port has one target, so it goes to ${first.guestPort}`,
      );
    }
  }
  return [...seen.values()].sort((a, b) => a.proto.localeCompare(b.proto) || a.hostPort - b.hostPort);
}

/** Port = the laptop's port (what the user already types), target = the guest's. */
function servicePort(p: KubevirtPort, type: KubevirtServiceType, notes: string[]): ServicePort {
  const port: ServicePort = {
    name: `${p.proto}-${p.hostPort}`,
    protocol: p.proto === 'tcp' ? 'TCP' : 'UDP',
    port: p.hostPort,
    targetPort: p.guestPort,
  };
  if (type !== 'NodePort') return port;
  if (p.hostPort >= NODE_PORT_MIN && p.hostPort <= NODE_PORT_MAX) return { ...port, nodePort: p.hostPort };
  notes.push(
    `port ${p.proto} ${p.hostPort}: outside the NodePort range ${NODE_PORT_MIN}-${NODE_PORT_MAX}, so the cluster picks the node port; see it with: kubectl get service`,
  );
  return port;
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;

/** virtctl's name for the VM: vm/NAME, or vm/NAME/NAMESPACE. */
function vmTarget(kubeName: string, namespace: string | undefined): string {
  return namespace === undefined ? `vm/${kubeName}` : `vm/${kubeName}/${namespace}`;
}

/** What changes about who can reach the forward, if anything. */
function reachNote(p: KubevirtPort, type: KubevirtServiceType, vm: string): string | undefined {
  const where = `port ${p.proto} ${p.address ?? '*'}:${p.hostPort}`;
  const loopback = p.address !== undefined && LOOPBACK.test(p.address);
  if (type === 'NodePort' && loopback) {
    return `${where}: the laptop kept it on loopback, but a NodePort Service listens on every node's address; use ClusterIP to keep it private`;
  }
  if (type === 'NodePort') return undefined;
  if (loopback) {
    const proto = p.proto === 'udp' ? 'udp/' : '';
    return `${where}: reachable inside the cluster only (ClusterIP); on this machine's loopback as before: virtctl port-forward ${vm} ${proto}${p.hostPort}:${p.guestPort}`;
  }
  return `${where}: the laptop published it on its network, a ClusterIP Service only inside the cluster; export with NodePort (or make it a LoadBalancer) to reach it from outside`;
}
