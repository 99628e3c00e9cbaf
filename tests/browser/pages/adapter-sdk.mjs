// The real @nymproject/sdk@1.4.1 (import-mapped to the SDK's index.js). It has no reply call:
// its worker drops the sender tag of what it receives.
import { createNymMixnetClient } from '@nymproject/sdk';
import { makeAdapter } from './adapter.mjs';

export const sdkAdapter = () => makeAdapter('sdk', createNymMixnetClient, { canReply: false });
