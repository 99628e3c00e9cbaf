// The page of sdk.html: the harness over the real SDK's adapter.
import { installHarness } from './harness.mjs';
import { sdkAdapter } from './adapter-sdk.mjs';

installHarness(sdkAdapter);
