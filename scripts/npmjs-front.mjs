/**
 * The loopback registry (scripts/registry.mjs) under the name `registry.npmjs.org`, for an n8n
 * that installs community packages the way an unlicensed n8n can.
 *
 * Why: n8n's setting for another registry, N8N_COMMUNITY_PACKAGES_REGISTRY, is an enterprise
 * feature. CommunityPackagesService.getNpmRegistry() (n8n 2.41.1 and 2.8.4) throws
 * FeatureNotLicensedError('feat:communityNodes:customRegistry') for any value but
 * https://registry.npmjs.org unless the licence has it. So the install tests leave n8n on its
 * default registry and give its process what a company network gives it: an HTTPS proxy
 * (HTTPS_PROXY, which n8n's outbound HTTP and npm both honour) and a CA to trust
 * (NODE_EXTRA_CA_CERTS). The proxy answers CONNECT registry.npmjs.org:443 itself, with a
 * certificate from a throwaway CA made for this run, and forwards every request to the
 * loopback verdaccio; it refuses every other host, so nothing of n8n's reaches the internet
 * or the real npm registry.
 *
 *   const front = await startNpmjsFront(registry);   // { env, requests(), refused(), stop() }
 *   spawn(n8n, { env: { ...env, ...front.env } });
 *
 * The CA key never leaves the run's temporary folder, removed by stop().
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NPMJS_HOST = 'registry.npmjs.org';

function openssl(args, cwd) {
	const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
	if (result.error || result.status !== 0) {
		throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${result.error?.message ?? result.stderr}`);
	}
}

/** A throwaway CA and a certificate for registry.npmjs.org signed by it (EC P-256, valid 2 days). */
function makeCertificates(dir) {
	const days = '2';
	openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
	openssl(
		['req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', days, '-subj', '/CN=n8n-nodes-whatsapp-agent install-test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
		dir,
	);
	openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'], dir);
	openssl(['req', '-new', '-key', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${NPMJS_HOST}`], dir);
	writeFileSync(
		join(dir, 'leaf.ext'),
		[`subjectAltName=DNS:${NPMJS_HOST}`, 'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'].join('\n'),
	);
	openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', days, '-extfile', 'leaf.ext'], dir);
	rmSync(join(dir, 'ca.key'));
	return { ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'leaf.key')), cert: readFileSync(join(dir, 'leaf.pem')) };
}

/**
 * Starts the proxy in front of `registry` ({ port } of startRegistry). `env` is what n8n's
 * process needs: the proxy, the CA, and an npm cache of its own (so nothing served here ends
 * up in the machine's npm cache under registry.npmjs.org's name).
 */
export async function startNpmjsFront(registry) {
	const dir = mkdtempSync(join(tmpdir(), 'npmjs-front-'));
	const answered = [];
	const refused = [];
	let https;
	let proxy;
	try {
		const { ca, key, cert } = makeCertificates(dir);
		https = createHttpsServer({ key, cert }, (req, res) => {
			const entry = { method: req.method, url: req.url, status: 0 };
			answered.push(entry);
			const upstream = httpRequest(
				{
					host: '127.0.0.1',
					port: registry.port,
					method: req.method,
					path: req.url,
					// verdaccio builds tarball URLs from these: they stay https://registry.npmjs.org/...
					headers: { ...req.headers, host: NPMJS_HOST, 'x-forwarded-proto': 'https' },
				},
				(upstreamRes) => {
					entry.status = upstreamRes.statusCode ?? 0;
					res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
					upstreamRes.pipe(res);
				},
			);
			upstream.on('error', (error) => {
				entry.status = 502;
				res.writeHead(502, { 'content-type': 'text/plain' });
				res.end(`loopback registry unreachable: ${error.message}`);
			});
			req.pipe(upstream);
		});
		https.on('tlsClientError', () => undefined);
		proxy = createHttpServer((req, res) => {
			// Plain-HTTP proxying (http:// URLs) is not offered: only the registry's CONNECT is.
			refused.push(`${req.method} ${req.url}`);
			res.writeHead(403, { 'content-type': 'text/plain' });
			res.end('This proxy serves only registry.npmjs.org (install tests).');
		});
		proxy.on('connect', (req, socket, head) => {
			socket.on('error', () => undefined);
			if (req.url !== `${NPMJS_HOST}:443`) {
				refused.push(`CONNECT ${req.url}`);
				socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
				return;
			}
			socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
			if (head.length > 0) socket.unshift(head);
			https.emit('connection', socket);
		});
		await new Promise((resolve, reject) => {
			proxy.once('error', reject);
			proxy.listen(0, '127.0.0.1', resolve);
		});
		const { port } = proxy.address();
		const npmCache = join(dir, 'npm-cache');
		mkdirSync(npmCache);
		const proxyUrl = `http://127.0.0.1:${port}`;
		return {
			port,
			dir,
			ca,
			env: {
				HTTPS_PROXY: proxyUrl,
				https_proxy: proxyUrl,
				NO_PROXY: '127.0.0.1,localhost,::1',
				no_proxy: '127.0.0.1,localhost,::1',
				NODE_EXTRA_CA_CERTS: ca,
				// npm does not take NODE_EXTRA_CA_CERTS into its own TLS options: it needs its cafile.
				npm_config_cafile: ca,
				npm_config_cache: npmCache,
			},
			/** Requests forwarded to the registry: [{ method, url, status }]. */
			requests: () => answered.map((entry) => ({ ...entry })),
			/** What was refused (other hosts): ['CONNECT api.n8n.io:443', ...]. */
			refused: () => [...refused],
			async stop() {
				await close(proxy, https);
				rmSync(dir, { recursive: true, force: true });
			},
		};
	} catch (error) {
		await close(proxy, https);
		rmSync(dir, { recursive: true, force: true });
		throw error;
	}
}

async function close(...servers) {
	for (const server of servers) {
		if (!server) continue;
		server.closeAllConnections?.();
		// The HTTPS server never listens (sockets are handed to it): close() still calls back.
		await new Promise((resolve) => server.close(() => resolve()));
	}
}
