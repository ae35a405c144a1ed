// Reading a VM file from disk: its text (file-text.ts: a regular file of limited size), parsed and checked.
import { readVmText } from './file-text.js';
import { parseVmFile, type FileVm } from './parse.js';

export function readVmFile(file: string): FileVm[] {
  return parseVmFile(file, readVmText(file));
}
