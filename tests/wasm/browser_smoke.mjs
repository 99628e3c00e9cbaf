// Drives headless Debian Chromium (playwright-core, no browser download) to
// tests/wasm/browser/index.html?build=BUILD on BASE_URL and prints the Worker's result.
//   PLAYWRIGHT_DIR=DIR node tests/wasm/browser_smoke.mjs BASE_URL BUILD
// Exit 0 when every check passed in the Worker.
import { createRequire } from 'node:module';
import path from 'node:path';

// ES modules ignore NODE_PATH: resolve playwright-core from PLAYWRIGHT_DIR's node_modules
const dir = path.resolve(process.env.PLAYWRIGHT_DIR || '.');
const { chromium } = createRequire(path.join(dir, 'noop.js'))('playwright-core');

const [base, build] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
let code = 1;
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`page: ${m.text()}`));
  await page.goto(`${base}/tests/wasm/browser/index.html?build=${encodeURIComponent(build)}`);
  await page.waitForFunction(() => window.smokeResult, null, { timeout: 120000 });
  const r = await page.evaluate(() => window.smokeResult);
  if (r.error) console.log(`FAIL worker: ${r.error}`);
  else {
    for (const f of r.failures) console.log(`FAIL ${f}`);
    console.log(`in a Worker (${JSON.stringify(r.env)}): ${r.passed} passed, ${r.failed} failed`);
    if (r.failed === 0 && r.passed > 100 && r.env.worker) code = 0;
  }
} finally {
  await browser.close();
}
process.exit(code);
