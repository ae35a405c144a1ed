// roost schema: the JSON Schema of a roost VM file, for editors (docs/apply.md; docs/roost.schema.json is it).
import type { Command } from '@commander-js/extra-typings';
import { runAction } from '../action.js';

export function define(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of the VM file that roost apply reads')
    .addHelpText(
      'after',
      `
Examples:
  roost schema > roost.schema.json
  # then, first line of a VM file, for editors with the YAML language server:
  # yaml-language-server: $schema=./roost.schema.json`,
    )
    .action(async (_opts, cmd) =>
      runAction(cmd, async ({ out }) => {
        const { vmJsonSchema } = await import('../../declarative/schema.js');
        const schema = vmJsonSchema();
        out.result(schema, () => JSON.stringify(schema, null, 2));
      }),
    );
}
