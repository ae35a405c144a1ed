#!/usr/bin/env node
// The `roost` executable (dist/cli/main.js): turns on the compile cache for the CLI's chunks, then runs the CLI.
// main.ts is imported, not bundled in here, so that it becomes a chunk of its own and is cached like the rest.
import { fileURLToPath } from 'node:url';
import { enableCompileCache } from './compile-cache.js';

enableCompileCache(fileURLToPath(new URL('./chunks', import.meta.url)));
void import('./main.js');
