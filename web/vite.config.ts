// The browser console: built into dist/web, which `roost web` serves. Everything is bundled (it works offline);
// xterm.js and noVNC are split into chunks the page loads only when a console is opened.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = new URL('.', import.meta.url).pathname;

export default defineConfig({
  root: here,
  base: '/',
  plugins: [preact()],
  build: {
    outDir: `${here}../dist/web`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
});
