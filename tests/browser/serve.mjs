// tests/browser/serve.mjs: the static server of the browser tests and benchmark.
// Binds 127.0.0.1 on a kernel-chosen port (or a given one: the page's origin, and so its
// IndexedDB, includes the port), serves the page folder at / and each package folder
// under its own prefix, writes the import map into the pages and sends one Content-Security-Policy
// with every response (pages and Worker scripts alike: a dedicated Worker loaded from a URL gets
// the policy of its own script's response, not the page's). Violations are reported back to
// /__csp-report and kept, so a test can fail on them.
//
//   node serve.mjs [--pages DIR] [--mount PREFIX=DIR]... [--map SPECIFIER=URL]... [--csp POLICY]
//                  [--alias URL=FILE]...
// prints one JSON line {"url": "http://127.0.0.1:PORT/"} and serves until killed; every CSP
// report is printed as a JSON line {"csp-report": ...}.
// As a module: startServer(options) -> {url, port, reports, close()}.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// What each directive is for (tests/browser/README.md has the reasoning and what was tried):
//   default-src 'self'         anything not named below only from the page's own origin
//   script-src 'self'          the page's modules, the packages' modules, the Worker scripts
//     'wasm-unsafe-eval'       WebAssembly.compile/instantiate (both clients compile wasm; nothing
//                              else of eval is allowed)
//   worker-src 'self'          new Worker(url) from the page's origin only
//   connect-src 'self'         fetch of the package's .wasm from the page's origin
//     http://127.0.0.1:* ws://127.0.0.1:*   the localnet's nym-api (fetch) and gateway (WebSocket)
// The server adds the SHA-256 of the import map it writes into the page to script-src: an inline
// import map is a script as far as CSP is concerned.
export const DEFAULT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; " +
	"worker-src 'self'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*";

const MIME = {
	'.html': 'text/html; charset=utf-8',
	'.js': 'text/javascript; charset=utf-8',
	'.mjs': 'text/javascript; charset=utf-8',
	'.wasm': 'application/wasm',
	'.json': 'application/json',
	'.map': 'application/json',
	'.css': 'text/css; charset=utf-8',
	'.txt': 'text/plain; charset=utf-8',
	'.ts': 'text/plain; charset=utf-8',
};

const IMPORTMAP_MARK = '<!--IMPORTMAP-->';

// A path under root, or null when the request tries to leave it.
function under(root, rel) {
	const p = normalize(join(root, rel));
	return p === root || p.startsWith(root + sep) ? p : null;
}

function addScriptHash(csp, hash) {
	const token = `'sha256-${hash}'`;
	if (/(^|;)\s*script-src\b/.test(csp))
		return csp.replace(/(^|;)(\s*script-src\b[^;]*)/, `$1$2 ${token}`);
	// no script-src: default-src governs scripts; keep its sources and add the hash
	const def = /(^|;)\s*default-src\b([^;]*)/.exec(csp);
	return `${csp}; script-src${def ? def[2] : " 'self'"} ${token}`;
}

export async function startServer({ pages, mounts = {}, map = {}, csp = DEFAULT_CSP, aliases = {},
	port: wantPort = 0, log = () => {} } = {}) {
	const root = resolve(pages);
	const mountRoots = Object.entries(mounts).map(([prefix, dir]) => [
		'/' + prefix.replace(/^\/+|\/+$/g, '') + '/', resolve(dir)]);
	const importMap = JSON.stringify({ imports: map });
	const mapTag = `<script type="importmap">${importMap}</script>`;
	const mapHash = createHash('sha256').update(importMap).digest('base64');
	const policy = addScriptHash(csp, mapHash) + '; report-uri /__csp-report';
	const reports = [];

	async function fileFor(pathname) {
		if (aliases[pathname]) return aliases[pathname];
		for (const [prefix, dir] of mountRoots)
			if (pathname.startsWith(prefix)) return under(dir, pathname.slice(prefix.length));
		return under(root, pathname === '/' ? 'index.html' : pathname.slice(1));
	}

	const server = createServer(async (req, res) => {
		const url = new URL(req.url, 'http://127.0.0.1');
		if (req.method === 'POST' && url.pathname === '/__csp-report') {
			const chunks = [];
			for await (const c of req) chunks.push(c);
			let body;
			try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { body = { raw: Buffer.concat(chunks).toString('utf8') }; }
			reports.push(body['csp-report'] || body);
			log({ 'csp-report': body['csp-report'] || body });
			res.writeHead(204).end();
			return;
		}
		if (url.pathname === '/favicon.ico') {
			res.writeHead(204, { 'Content-Security-Policy': policy }).end();
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			res.writeHead(405, { Allow: 'GET, HEAD' }).end();
			return;
		}
		let file;
		try {
			file = await fileFor(decodeURIComponent(url.pathname));
		} catch {
			file = null;
		}
		let body;
		try {
			if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
			body = await readFile(file);
		} catch {
			res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Security-Policy': policy });
			res.end('not found\n');
			return;
		}
		const type = MIME[extname(file)] || 'application/octet-stream';
		if (type.startsWith('text/html')) body = Buffer.from(body.toString('utf8').replace(IMPORTMAP_MARK, mapTag));
		res.writeHead(200, {
			'Content-Type': type,
			'Content-Length': body.length,
			'Content-Security-Policy': policy,
			'Cache-Control': 'no-store',
			'X-Content-Type-Options': 'nosniff',
		});
		res.end(req.method === 'HEAD' ? undefined : body);
	});
	await new Promise((ok, fail) => {
		server.once('error', fail);
		server.listen(wantPort, '127.0.0.1', ok);
	});
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}/`,
		port,
		policy,
		reports,
		close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
	};
}

function parseArgs(argv) {
	const o = { mounts: {}, map: {}, aliases: {} };
	const pair = (s, what) => {
		const i = s.indexOf('=');
		if (i <= 0) throw new Error(`${what}: want NAME=VALUE, got ${s}`);
		return [s.slice(0, i), s.slice(i + 1)];
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const v = () => {
			if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
			return argv[++i];
		};
		if (a === '--pages') o.pages = v();
		else if (a === '--mount') { const [k, d] = pair(v(), a); o.mounts[k] = d; }
		else if (a === '--map') { const [k, d] = pair(v(), a); o.map[k] = d; }
		else if (a === '--alias') { const [k, d] = pair(v(), a); o.aliases[k] = resolve(d); }
		else if (a === '--csp') o.csp = v();
		else if (a === '--help' || a === '-h') {
			process.stdout.write('node serve.mjs [--pages DIR] [--mount PREFIX=DIR]... [--map SPECIFIER=URL]... ' +
				'[--alias /URLPATH=FILE]... [--csp POLICY]\n');
			process.exit(0);
		} else throw new Error(`unknown option ${a}`);
	}
	o.pages ??= fileURLToPath(new URL('./pages/', import.meta.url));
	return o;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	let opts;
	try {
		opts = parseArgs(process.argv.slice(2));
	} catch (e) {
		process.stderr.write(`serve.mjs: ${e.message}\n`);
		process.exit(2);
	}
	const s = await startServer({ ...opts, log: (o) => process.stdout.write(JSON.stringify(o) + '\n') });
	process.stdout.write(JSON.stringify({ url: s.url, csp: s.policy }) + '\n');
}
