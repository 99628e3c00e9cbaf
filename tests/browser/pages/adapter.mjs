// adapter.mjs: ONE adapter shape for every client the harness drives, made from a module with
// @nymproject/sdk 1.4.1's API (createNymMixnetClient() -> {client, events}). The real SDK and
// our package (@nymsuite/sdk) have that API by design, so the same tests and benchmark run
// against either; what only ours has (reply, stats, senderTag) is used when present.
//
//   const a = await makeAdapter(name, createNymMixnetClient, {canReply})
//   a.start(opts)             client.start(opts), resolves on the Connected event
//   a.selfAddress()           client.selfAddress()
//   a.send({recipient, message, mimeType, headers, replySurbs})
//   a.rawSend({recipient, payload, replySurbs})
//   a.reply({senderTag, message, mimeType, headers})   ours only (Unsupported otherwise)
//   a.setTextMimeTypes(list), a.getTextMimeTypes(), a.stats() (ours only), a.stop()
//   a.onMessage(fn)           fn({event: 'raw'|'text'|'binary', payload: Uint8Array, text?,
//                             mimeType?, headers?, senderTag?}) for every received event
export class Unsupported extends Error {}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58(bytes) {
	let n = 0n;
	for (const b of bytes) n = n * 256n + BigInt(b);
	let s = '';
	while (n > 0n) { s = B58[Number(n % 58n)] + s; n /= 58n; }
	for (const b of bytes) { if (b !== 0) break; s = '1' + s; }
	return s;
}

// The SDK hands decoded payloads over as plain Arrays (not the Uint8Array its .d.ts says).
function bytesOf(v) {
	if (v instanceof Uint8Array) return v;
	if (v instanceof ArrayBuffer) return new Uint8Array(v);
	if (Array.isArray(v)) return Uint8Array.from(v);
	if (v && typeof v === 'object' && typeof v.length === 'number') return Uint8Array.from(Array.from(v));
	return null;
}

function tagOf(v) {
	if (v === undefined || v === null) return null;
	if (typeof v === 'string') return v;
	const b = bytesOf(v);
	return b ? base58(b) : String(v);
}

export async function makeAdapter(name, createNymMixnetClient, { canReply = false } = {}) {
	const { client, events } = await createNymMixnetClient();
	const listeners = [];
	const emit = (m) => { for (const fn of listeners) fn(m); };
	let connected = null;
	const connectedOnce = new Promise((ok) => { connected = ok; });
	events.subscribeToConnected((e) => connected(e?.args?.address));
	events.subscribeToRawMessageReceivedEvent((e) => emit({
		event: 'raw', payload: bytesOf(e.args.payload), senderTag: tagOf(e.args.senderTag) }));
	events.subscribeToTextMessageReceivedEvent((e) => {
		const raw = bytesOf(e.args.payloadRaw);
		emit({ event: 'text', text: e.args.payload, payload: raw ?? new TextEncoder().encode(e.args.payload),
			mimeType: e.args.mimeType, headers: e.args.headers ?? null, senderTag: tagOf(e.args.senderTag) });
	});
	events.subscribeToBinaryMessageReceivedEvent((e) => emit({
		event: 'binary', payload: bytesOf(e.args.payload), mimeType: e.args.mimeType,
		headers: e.args.headers ?? null, senderTag: tagOf(e.args.senderTag) }));

	return {
		name,
		canReply: canReply && typeof client.reply === 'function',
		async start(opts) {
			await client.start(opts);
			await connectedOnce;
		},
		selfAddress: () => client.selfAddress(),
		send: ({ recipient, message, mimeType, headers, replySurbs }) => {
			const payload = { message };
			if (mimeType !== undefined) payload.mimeType = mimeType;
			if (headers !== undefined) payload.headers = headers;
			const args = { payload, recipient };
			if (replySurbs !== undefined) args.replySurbs = replySurbs;
			return client.send(args);
		},
		rawSend: ({ recipient, payload, replySurbs }) => {
			const args = { payload, recipient };
			if (replySurbs !== undefined) args.replySurbs = replySurbs;
			return client.rawSend(args);
		},
		reply: ({ senderTag, message, mimeType, headers }) => {
			if (!(canReply && typeof client.reply === 'function')) throw new Unsupported(`${name} has no reply`);
			const payload = { message };
			if (mimeType !== undefined) payload.mimeType = mimeType;
			if (headers !== undefined) payload.headers = headers;
			return client.reply({ senderTag, payload });
		},
		setTextMimeTypes: (list) => client.setTextMimeTypes(list),
		getTextMimeTypes: () => client.getTextMimeTypes(),
		stats: () => {
			if (typeof client.stats !== 'function') throw new Unsupported(`${name} has no stats`);
			return client.stats();
		},
		stop: () => client.stop(),
		onMessage: (fn) => listeners.push(fn),
	};
}
