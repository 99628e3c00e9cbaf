// tests/browser/readme_page.mjs (tests/integration/browser_readme.sh): the package README's
// "A minimal page", taken verbatim from wasm/package/README.md, served with the package as npm
// installed it, in headless Chromium against the localnet. The page's own log must show it
// connected and that it received the "hello" it sent itself. The page is opened as
// index.html?api=NYM_API (the README's page reads its nym-api from there); every request the
// browser makes is checked to go to 127.0.0.1, and a CSP holding the hashes of the page's two
// inline scripts (as the README says to give them) must see no violation.
//   node readme_page.mjs --site DIR --nym-api URL --gateway-ws URL [--log FILE]
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, loadPlaywright, CHROMIUM } from './driver.mjs';
import { startServer } from './serve.mjs';

const arg = (name) => {
	const i = process.argv.indexOf(name);
	if (i < 0 || i + 1 >= process.argv.length) throw new Error(`${name} is required`);
	return process.argv[i + 1];
};
const site = arg('--site'), nymApi = arg('--nym-api'), gatewayWs = arg('--gateway-ws');
const logFile = process.argv.includes('--log') ? arg('--log') : null;
const log = (s) => { if (logFile) appendFileSync(logFile, s + '\n'); };
let failed = 0;
const check = (ok, what) => { console.log(`readme_page: ${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failed++; };

// the first ```html block after the heading "## A minimal page"
function readmePage() {
	const md = readFileSync(join(ROOT, 'wasm/package/README.md'), 'utf8');
	const at = md.indexOf('## A minimal page');
	const m = at < 0 ? null : /```html\n([\s\S]*?)```/.exec(md.slice(at));
	if (!m) throw new Error('wasm/package/README.md has no html block under "## A minimal page"');
	return m[1];
}

const html = readmePage();
writeFileSync(join(site, 'index.html'), html);
const hashes = [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)]
	.map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
check(hashes.length === 2, `the README's page has its import map and module script inline (${hashes.length} scripts)`);
const origin = (u) => { const x = new URL(u); return `${x.protocol}//${x.host}`; };
const csp = `default-src 'none'; script-src 'self' 'wasm-unsafe-eval' ${hashes.join(' ')}; ` +
	`worker-src 'self'; connect-src 'self' ${origin(nymApi)} ${origin(gatewayWs)}`;
const server = await startServer({ pages: site, csp, log: (o) => log(JSON.stringify(o)) });
const chromium = await loadPlaywright();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
const offLoopback = [];
try {
	const ctx = await browser.newContext();
	await ctx.route('**/*', (route) => {
		const u = new URL(route.request().url());
		if (u.hostname === '127.0.0.1') return route.continue();
		offLoopback.push(u.href);
		return route.abort();
	});
	const page = await ctx.newPage();
	page.on('console', (m) => log(`[page] ${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => log(`[page] error: ${e.message}`));
	page.on('worker', (w) => w.on('console', (m) => log(`[worker] ${m.type()}: ${m.text()}`)));
	await page.goto(`${server.url}index.html?api=${encodeURIComponent(nymApi)}`);
	const text = () => page.$eval('#log', (e) => e.textContent);
	let out = '';
	for (let i = 0; i < 1200 && !/received: hello/.test(out); i++) {
		await page.waitForTimeout(250);
		out = await text();
	}
	log(`[test] page log:\n${out}`);
	const addr = /connected as (\S+)/.exec(out);
	check(addr && /^[1-9A-HJ-NP-Za-km-z]+\.[1-9A-HJ-NP-Za-km-z]+@[1-9A-HJ-NP-Za-km-z]+$/.test(addr[1]),
		`the page connected (${addr ? addr[1].slice(0, 24) + '...' : 'no address'})`);
	check(/received: hello/.test(out), 'the page received the "hello" it sent to itself');
	check(offLoopback.length === 0, `no request left 127.0.0.1 (${offLoopback.slice(0, 3).join(' ') || 'none'})`);
	check(server.reports.length === 0, `no CSP violation (${server.reports.length})`);
} finally {
	await browser.close();
	await server.close();
}
process.exit(failed ? 1 : 0);
