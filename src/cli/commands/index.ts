// The list of commands, in the order `roost --help` shows them. Each file exports `define(program)`.
import type { Command } from '@commander-js/extra-typings';
import { define as create } from './create.js';
import { define as start } from './start.js';
import { define as stop } from './stop.js';
import { define as restart } from './restart.js';
import { define as rm } from './rm.js';
import { define as edit } from './edit.js';
import { define as ls } from './ls.js';
import { define as info } from './info.js';
import { define as logs } from './logs.js';
import { define as consoleCmd } from './console.js';
import { define as ssh } from './ssh.js';
import { define as cp } from './cp.js';
import { define as exec } from './exec.js';
import { define as completion } from './completion.js';
import { define as man } from './man.js';
import { define as connection } from './connection.js';
import { define as doctor } from './doctor.js';
import { define as port } from './port.js';
import { define as mount } from './mount.js';
import { define as ip } from './ip.js';
import { define as host } from './host.js';
import { define as web } from './web.js';
import { define as events } from './events.js';
import { define as image } from './image.js';
import { define as autostart } from './autostart.js';
import { define as snapshot } from './snapshot.js';
import { define as clone } from './clone.js';
import { define as top } from './top.js';
import { define as stats } from './stats.js';
import { define as apply } from './apply.js';
import { define as schema } from './schema.js';
import { define as exportCmd } from './export.js';
import { define as template } from './template.js';
import { define as hosts } from './hosts.js';

/** `wholeTable` gives a program with every command defined, for the commands that read the table (man). */
export type DefineCommand = (program: Command, wholeTable: () => Command) => void;

/** A top-level command: the names it answers to (name, then aliases) and what defines it. */
export interface CommandEntry {
  names: readonly string[];
  define: DefineCommand;
}

// The names are repeated here so that a start-up can define only the command it runs (program.ts); a unit test
// checks them against what each define() registers.
export const COMMANDS: CommandEntry[] = [
  { names: ['create'], define: create },
  { names: ['start'], define: start },
  { names: ['stop'], define: stop },
  { names: ['restart'], define: restart },
  { names: ['rm', 'remove'], define: rm },
  { names: ['edit'], define: edit },
  { names: ['ls', 'list'], define: ls },
  { names: ['info'], define: info },
  { names: ['top'], define: top },
  { names: ['stats'], define: stats },
  { names: ['logs'], define: logs },
  { names: ['console'], define: consoleCmd },
  { names: ['port'], define: port },
  { names: ['mount'], define: mount },
  { names: ['ip'], define: ip },
  { names: ['ssh'], define: ssh },
  { names: ['cp'], define: cp },
  { names: ['exec'], define: exec },
  { names: ['connection'], define: connection },
  { names: ['doctor'], define: doctor },
  { names: ['host'], define: host },
  { names: ['web'], define: web },
  { names: ['events'], define: events },
  { names: ['image'], define: image },
  { names: ['clone'], define: clone },
  { names: ['snapshot'], define: snapshot },
  { names: ['autostart'], define: autostart },
  { names: ['completion'], define: completion },
  { names: ['man'], define: man },
  { names: ['apply'], define: apply },
  { names: ['export'], define: exportCmd },
  { names: ['schema'], define: schema },
  { names: ['template'], define: template },
  { names: ['hosts'], define: hosts },
];
