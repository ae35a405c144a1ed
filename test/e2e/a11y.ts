// A role/label check of what the page shows, from Chromium's own accessibility tree (playwright's aria
// snapshot): every control, link, chart, progress bar and region must have a name a screen reader can say.
import type { Page } from 'playwright-core';

/** The roles that are useless without a name: what a keyboard or screen-reader user acts on or reads. */
const NEEDS_NAME = [
  'button',
  'link',
  'textbox',
  'checkbox',
  'radio',
  'combobox',
  'spinbutton',
  'tab',
  'img',
  'progressbar',
  'region',
  'dialog',
  'table',
];

/** The lines of the page's aria snapshot that name one of those roles without a name ("- button", "- img:"). */
export async function unnamed(page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot();
  const bare = new RegExp(`^\\s*- (${NEEDS_NAME.join('|')})(:|\\s*$| \\[)`);
  return tree.split('\n').filter((l) => bare.test(l));
}
