// tests/browser/driver.mjs: headless Debian Chromium driven by playwright-core (from the cache
// tests/browser/setup fills; no browser download), pages served by serve.mjs, and a small RPC to
// the client on each page (pages/harness.mjs: one adapter shape for the real SDK and for ours).
//
// As a module (the tests and the benchmark):
//   const h = await openHarness({log, profileDir, csp, port, workerTap})   port: the server's (0:
//                                     any; the same port again = the same origin, the same
//                                     IndexedDB); workerTap: record what every Worker sends
//                                     (porttap.mjs; needs profileDir)
//   const a = await h.client('sdk' | 'ours', {name})   a page; a.call(method, ...args) runs
//                                     globalThis.nymHarness[method](...args) in it
//   await a.start(opts) / a.send(...) / a.waitReceived(n, ms) / a.received() ... (shortcuts)
//   h.violations()                    every CSP violation seen: the server's reports, the pages'
//                                     securitypolicyviolation events, "Refused to" console lines
//   h.errors()                        page errors (uncaught exceptions) of every page
//   await h.close()
// By hand (JSON lines): node driver.mjs --nym-api URL [--client NAME=sdk|ours]... < commands
//   {"client": "a", "call": "start", "args": [{...}]}  ->  {"client": "a", "call": "start", "result": ...}
// See tests/browser/README.md.
import { appendFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_CSP, startServer } from './serve.mjs';
import { WorkerTap } from './porttap.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../..');
export const CHROMIUM = process.env.NYMSUITE_CHROMIUM || '/usr/bin/chromium';

export class HarnessError extends Error {}

export function cacheDir() {
	return join(process.env.NYMSUITE_CACHE || join(homedir(), '.cache/nymsuite'), 'browser');
}

// build/wasm/package of this tree ($NYMSUITE_PACKAGE, else $WASM_DIR/package as make asan passes it)
export function ourPackageDir() {
	if (process.env.NYMSUITE_PACKAGE) return resolve(process.env.NYMSUITE_PACKAGE);
	if (process.env.WASM_DIR) return resolve(process.env.WASM_DIR, 'package');
	return resolve(ROOT, process.env.BUILD || 'build', 'wasm/package');
}

export function ourPackageBuilt() {
	return existsSync(join(ourPackageDir(), 'index.js'));
}

// Every dependency is checked here: a missing one is an error with the reason, never a skip.
export async function loadPlaywright() {
	const cache = cacheDir();
	const pw = join(cache, 'node_modules/playwright-core/index.mjs');
	const sdk = join(cache, 'node_modules/@nymproject/sdk/index.js');
	if (!existsSync(pw) || !existsSync(sdk))
		throw new HarnessError(`playwright-core or @nymproject/sdk missing in ${cache}: run tests/browser/setup`);
	if (!existsSync(CHROMIUM))
		throw new HarnessError(`${CHROMIUM} missing: make deps installs Debian's chromium`);
	const mod = await import(pathToFileURL(pw).href);
	return mod.chromium ?? mod.default.chromium;
}

const CSP_CONSOLE = /Content Security Policy|Refused to (load|execute|connect|create|compile|evaluate|apply|frame)/i;

export async function openHarness({ log: logFile = null, profileDir = null, csp = DEFAULT_CSP,
	headless = true, chromiumArgs = [], quiet = false, port = 0, workerTap = false } = {}) {
	if (workerTap && !profileDir) throw new HarnessError('workerTap needs a profileDir (its DevToolsActivePort)');
	const chromium = await loadPlaywright();
	const cache = cacheDir();
	const sdkDir = join(cache, 'node_modules/@nymproject/sdk');
	const t0 = Date.now();
	const log = (line) => {
		const s = `${((Date.now() - t0) / 1000).toFixed(3)} ${line}\n`;
		if (logFile) appendFileSync(logFile, s);
		else if (!quiet) process.stderr.write(s);
	};
	const consoleViolations = [];
	const pageErrors = [];

	const server = await startServer({
		pages: join(HERE, 'pages'),
		mounts: { sdk: sdkDir, ours: ourPackageDir() },
		map: { '@nymproject/sdk': '/sdk/index.js', '@nymsuite/sdk': '/ours/index.js' },
		// the SDK starts new Worker('web-worker-0.js') against the page's URL
		aliases: { '/web-worker-0.js': join(sdkDir, 'web-worker-0.js') },
		csp,
		port,
		log: (o) => log(`server ${JSON.stringify(o)}`),
	});
	log(`server ${server.url} csp: ${server.policy}`);

	const args = [...chromiumArgs];
	if (workerTap && !args.some((a) => a.startsWith('--remote-debugging-port'))) args.push('--remote-debugging-port=0');
	if (process.getuid?.() === 0) args.push('--no-sandbox');
	// exact heap numbers in performance.memory (else rounded and delayed)
	args.push('--enable-precise-memory-info');
	let browser = null;
	let context;
	try {
		if (profileDir) {
			context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless, args });
			browser = context.browser();
		} else {
			browser = await chromium.launch({ executablePath: CHROMIUM, headless, args });
			context = await browser.newContext();
		}
	} catch (e) {
		await server.close();
		throw new HarnessError(`chromium did not start: ${e.message.split('\n')[0]}`);
	}
	log(`chromium ${browser ? browser.version() : '(persistent context)'} ${profileDir ? `profile ${profileDir}` : ''}`);

	let tap = null;
	if (workerTap) {
		try {
			tap = await WorkerTap.start(profileDir);
		} catch (e) {
			await context.close();
			await server.close();
			throw new HarnessError(`worker recorders: ${e.message}`);
		}
	}
	const clients = [];

	function watch(page, name) {
		const note = (where, type, text) => {
			log(`${where} ${type}: ${text}`);
			if (CSP_CONSOLE.test(text)) consoleViolations.push({ where, text });
		};
		// (a dedicated Worker's console comes here too, with m.worker() set)
		page.on('console', (m) => {
			const w = m.worker?.();
			note(`[${name}${w ? ` worker ${w.url().split('/').pop()}` : ''}]`, m.type(), m.text());
		});
		page.on('pageerror', (e) => {
			pageErrors.push({ client: name, message: e.message });
			log(`[${name}] pageerror: ${e.stack || e.message}`);
		});
		page.on('worker', (w) => {
			log(`[${name}] worker ${w.url()}`);
			w.on('close', () => log(`[${name}] worker closed ${w.url()}`));
		});
		page.on('requestfailed', (r) => log(`[${name}] request failed ${r.url()}: ${r.failure()?.errorText}`));
		page.on('crash', () => { pageErrors.push({ client: name, message: 'page crashed' }); log(`[${name}] CRASH`); });
	}

	async function client(kind, { name = kind, page: existing = null, initScript = null } = {}) {
		if (kind === 'ours' && !ourPackageBuilt())
			throw new HarnessError(`package not built: ${ourPackageDir()}/index.js missing (make wasm builds it)`);
		const page = existing ?? await context.newPage();
		if (!existing) {
			watch(page, name);
			if (initScript) await page.addInitScript(initScript);
		}
		const url = `${server.url}${kind}.html`;
		async function open(how) {
			await how();
			try {
				await page.waitForFunction(() => globalThis.nymHarness?.ready === true, null, { timeout: 60000 });
			} catch {
				const errs = pageErrors.filter((e) => e.client === name).map((e) => e.message).join('; ');
				throw new HarnessError(`${name}: the harness did not load on ${url}${errs ? `: ${errs}` : ''}`);
			}
		}
		await open(() => page.goto(url));
		const call = async (method, ...a) => {
			try {
				return await page.evaluate(([m, as]) => globalThis.nymHarness[m](...as), [method, a]);
			} catch (e) {
				throw new HarnessError(`${name}.${method}: ${e.message.split('\n')[0]}`);
			}
		};
		const c = {
			name, kind, page, call,
			load: (timeoutMs) => call('load', timeoutMs),
			start: (opts, timeoutMs) => call('start', opts, timeoutMs),
			selfAddress: () => call('selfAddress'),
			send: (a) => call('send', a),
			rawSend: (a) => call('rawSend', a),
			reply: (a) => call('reply', a),
			received: (from = 0) => call('received', from),
			waitReceived: (n, ms = 60000, event = undefined) => call('waitReceived', n, ms, event),
			bytes: async (i, start, end) => Buffer.from(await call('bytes', i, start, end), 'base64'),
			// a reload keeps the context (and its IndexedDB); the harness must be loaded again
			reload: () => open(() => page.reload()),
		};
		clients.push(c);
		return c;
	}

	async function violations() {
		const out = server.reports.map((r) => ({ from: 'report', ...r }));
		for (const c of clients) {
			try {
				for (const v of await c.page.evaluate(() => globalThis.nymHarness?.violations() ?? []))
					out.push({ from: `${c.name} page`, ...v });
			} catch { /* a closed page has nothing more to say */ }
		}
		return out.concat(consoleViolations.map((v) => ({ from: 'console', ...v })));
	}

	return {
		server, context, browser, log, client, violations, workerTap: tap,
		errors: () => pageErrors.slice(),
		async close() {
			tap?.close();
			try { await context.close(); } catch { /* already gone */ }
			try { if (browser) await browser.close(); } catch { /* already gone */ }
			await server.close();
		},
	};
}

// The start options both clients get for the localnet: delays and cover off unless asked,
// Nym's filters relaxed for a network of a few nodes (as tests/interop/nym-client.mjs does).
export function localnetStartOptions({ clientId, nymApi, gateway, cover = false, delays = false }) {
	const traffic = { disableMainPoissonPacketDistribution: !cover };
	if (!delays) traffic.averagePacketDelayMs = 0, traffic.messageSendingAverageDelayMs = 0;
	return {
		clientId,
		nymApiUrl: nymApi,
		preferredGateway: gateway,
		forceTls: false,
		clientOverride: {
			traffic,
			coverTraffic: { disableLoopCoverTrafficStream: !cover },
			statsReporting: { enabled: false },
			topology: { minimumMixnodePerformance: 0, minimumGatewayPerformance: 0,
				ignoreIngressEpochRole: true, ignoreEgressEpochRole: true },
		},
	};
}

// The tightest policy both clients run under (tests/browser/README.md): nothing by default;
// scripts and Workers from the page's origin, and wasm compilation; fetch/WebSocket only to the
// page's origin (our package fetches its .wasm), the directory and the gateway.
export function tightCsp({ nymApi, gatewayWs }) {
	const origin = (u) => new URL(u).origin;
	return "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
		`connect-src 'self' ${origin(nymApi)} ${wsOrigin(gatewayWs)}; ` +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

function wsOrigin(u) {
	const x = new URL(u);
	return `${x.protocol}//${x.host}`;
}

// ---------------------------------------------------------------- by hand: JSON lines on stdin
async function cli(argv) {
	const clients = {};
	let log = null;
	let profileDir = null;
	let csp;
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--client') { const [n, k] = argv[++i].split('='); clients[n] = k || n; }
		else if (a === '--log') log = argv[++i];
		else if (a === '--profile') profileDir = argv[++i];
		else if (a === '--csp') csp = argv[++i];
		else if (a === '--help' || a === '-h') {
			process.stdout.write('node driver.mjs [--client NAME=sdk|ours]... [--log FILE] [--profile DIR] [--csp POLICY] < commands\n' +
				'  a command: {"client": NAME, "call": METHOD, "args": [...]} (pages/harness.mjs names the methods)\n' +
				'  {"client": NAME, "call": "start", "localnet": {clientId, nymApi, gateway}} starts with the tests\' options\n' +
				'  also {"call": "violations"}, {"call": "options", "args": [{clientId, nymApi, gateway}]}, {"call": "quit"}\n');
			return 0;
		} else { process.stderr.write(`driver.mjs: unknown option ${a}\n`); return 2; }
	}
	if (!Object.keys(clients).length) clients.a = 'sdk';
	const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
	const h = await openHarness({ log, profileDir, csp });
	try {
		const cs = {};
		for (const [n, k] of Object.entries(clients)) {
			cs[n] = await h.client(k, { name: n });
			out({ client: n, kind: k, ready: true });
		}
		for await (const line of createInterface({ input: process.stdin })) {
			if (!line.trim()) continue;
			let cmd;
			try { cmd = JSON.parse(line); } catch (e) { out({ error: `not JSON: ${e.message}` }); continue; }
			try {
				if (cmd.call === 'quit') break;
				if (cmd.call === 'violations') { out({ call: 'violations', result: await h.violations() }); continue; }
				if (cmd.call === 'options') { out({ call: 'options', result: localnetStartOptions(cmd.args[0]) }); continue; }
				const c = cs[cmd.client];
				if (!c) throw new Error(`no client ${cmd.client}`);
				// {"call": "start", "localnet": {clientId, nymApi, gateway}}: the tests' start options
				const as = cmd.localnet ? [localnetStartOptions(cmd.localnet)] : (cmd.args ?? []);
				out({ client: cmd.client, call: cmd.call, result: await c.call(cmd.call, ...as) });
			} catch (e) {
				out({ client: cmd.client, call: cmd.call, error: e.message });
			}
		}
	} finally {
		await h.close();
	}
	return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	cli(process.argv.slice(2)).then((rc) => process.exit(rc), (e) => {
		process.stderr.write(`driver.mjs: ${e.message}\n`);
		process.exit(1);
	});
}

