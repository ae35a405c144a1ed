// roost export NAME [--format roost|kubevirt]: the VM file that roost apply makes this VM from (docs/apply.md), or
// the KubeVirt manifests that make it on a cluster (docs/kubevirt.md).
import { Option, type Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';
import { writeStdout } from '../stdio.js';

export function define(program: Command): void {
  program
    .command('export')
    .description(
      'print the VM file (YAML) that roost apply turns back into this VM, or its KubeVirt manifests',
    )
    .argument('<name>', 'VM name')
    .option(
      '--format <format>',
      'roost (the file roost apply reads) or kubevirt (manifests for kubectl apply)',
      'roost',
    )
    .option(
      '--namespace <namespace>',
      'kubevirt: the namespace of every object (default: kubectl’s current one)',
    )
    .addOption(
      new Option(
        '--service-type <type>',
        'kubevirt: how the forwards are published (default ClusterIP)',
      ).choices(['ClusterIP', 'NodePort'] as const),
    )
    .addOption(
      new Option(
        '--run-strategy <strategy>',
        'kubevirt: Always, RerunOnFailure, Manual, Halted or Once (default: Always if it starts at login, else Manual)',
      ).choices(['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once'] as const),
    )
    .option('--storage-class <name>', 'kubevirt: the storage class of the disk (default: the cluster’s)')
    .addHelpText(
      'after',
      `
Examples:
  roost export web > web.yaml      # any VM, also one made by virsh or virt-manager
  roost rm web && roost apply web.yaml
  roost export web --format kubevirt > web-k8s.yaml && kubectl apply -f web-k8s.yaml
  roost export web --format kubevirt --namespace lab --service-type NodePort --run-strategy Always

What the file cannot describe (a second disk, a NIC on a libvirt network, a shared folder in a cluster…) is
listed in its first comments and as warnings on stderr. The kubevirt format puts the cloud-init user-data in a
Secret: keep the file as private as the VM's ssh keys.`,
    )
    .action(async (name, opts, cmd) =>
      runAction(cmd, async ({ context, out }) => {
        const { exportVm } = await import('../../vm/export.js');
        const { text, warnings } = await exportVm(await context(), name, opts.format, {
          namespace: opts.namespace,
          serviceType: opts.serviceType,
          runStrategy: opts.runStrategy,
          storageClassName: opts.storageClass,
        });
        // YAML whatever --json says: the file is the answer (its fields are the schema's, `roost schema`).
        writeStdout(text);
        for (const w of warnings) out.warn(w);
      }),
    );
}
