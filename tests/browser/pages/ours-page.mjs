// The page of ours.html: the harness over our package's adapter.
import { installHarness } from './harness.mjs';
import { oursAdapter } from './adapter-ours.mjs';

installHarness(oursAdapter);
