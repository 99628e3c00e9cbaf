// Our package (import-mapped to build/wasm/package/index.js): the SDK's API, plus
// client.reply({senderTag, payload}), client.stats() and senderTag on received events.
import { createNymMixnetClient } from '@nymsuite/sdk';
import { makeAdapter } from './adapter.mjs';

export const oursAdapter = () => makeAdapter('ours', createNymMixnetClient, { canReply: true });
