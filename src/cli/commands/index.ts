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
import { define as connection } from './connection.js';
import { define as doctor } from './doctor.js';
import { define as port } from './port.js';
import { define as ip } from './ip.js';
import { define as host } from './host.js';
import { define as web } from './web.js';
import { define as events } from './events.js';
import { define as image } from './image.js';

export type DefineCommand = (program: Command) => void;

export const COMMANDS: DefineCommand[] = [
  create,
  start,
  stop,
  restart,
  rm,
  edit,
  ls,
  info,
  logs,
  consoleCmd,
  port,
  ip,
  ssh,
  connection,
  doctor,
  host,
  web,
  events,
  image,
];
