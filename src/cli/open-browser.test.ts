import { describe, expect, it } from 'vitest';
import { browserCommands, openBrowser } from './open-browser.js';

const URL = '/run/user/1000/roost/open-abc.html';

describe('opening the browser', () => {
  it('tries $BROWSER’s commands in order, the URL at %s or last, then xdg-open', () => {
    expect(browserCommands(URL, { BROWSER: 'firefox:chromium --app=%s' })).toEqual([
      ['firefox', URL],
      ['chromium', `--app=${URL}`],
      ['xdg-open', URL],
    ]);
    expect(browserCommands(URL, {})).toEqual([['xdg-open', URL]]);
  });

  it('starts the first command that exists', async () => {
    expect(await openBrowser(URL, { BROWSER: '/nonexistent/browser:/bin/true' })).toBe('/bin/true');
  });

  it('reports a command that started but failed (xdg-open without a desktop exits 3)', async () => {
    const failure = new Promise<string>((resolve) => {
      void openBrowser(URL, { BROWSER: '/bin/false' }, resolve);
    });
    expect(await failure).toBe('/bin/false could not open the link (exit status 1)');
  });

  it('says so when none can be started', async () => {
    await expect(openBrowser(URL, { BROWSER: '/nonexistent/browser', PATH: '/nonexistent' })).rejects.toThrow(
      /no browser could be started \(tried \/nonexistent\/browser, xdg-open; set \$BROWSER\)/,
    );
  });
});
