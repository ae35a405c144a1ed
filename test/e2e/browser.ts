// Debian's Chromium driven by playwright-core (docs/architecture.md, Tests): headless, no sandbox (we run as
// root in CI), no network chatter of its own. playwright gives every launch a fresh temporary profile (its own
// --user-data-dir, removed on close; it refuses one passed in args).
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.ROOST_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
