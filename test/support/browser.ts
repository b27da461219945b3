// A real Chromium for the dashboard tests and bench: Debian's `chromium` package (CI installs it
// in .ci/run), driven by playwright-core, which brings no browser of its own.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser binary: $TETHER_CHROMIUM, or the first of the usual places that exists. */
export function chromiumPath(): string | undefined {
  const chosen = process.env['TETHER_CHROMIUM'];
  if (chosen !== undefined && chosen !== '') return chosen;
  return CANDIDATES.find((p) => fs.existsSync(p));
}

/**
 * The `skip` option for browser tests: false when Chromium is here. Without one, a developer's
 * run skips them and says how to get one; CI (CI=true) must not skip, so there the tests run and
 * fail at launch.
 */
export const SKIP_WITHOUT_CHROMIUM: string | false =
  chromiumPath() !== undefined || process.env['CI'] === 'true' ? false : 'no Chromium found: apt-get install chromium (or set TETHER_CHROMIUM to a Chromium binary)';

export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('no Chromium found: apt-get install chromium, or set TETHER_CHROMIUM to a Chromium binary');
  // Headless in a container: no sandbox (no user namespaces), no GPU, and no calls home.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}
