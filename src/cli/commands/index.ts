// The list of commands, in the order `roost --help` shows them. Each file exports `define(program)`.
import type { Command } from '@commander-js/extra-typings';
import { define as connection } from './connection.js';

export type DefineCommand = (program: Command) => void;

export const COMMANDS: DefineCommand[] = [connection];
