// Builds the workflow bundle as a check: `npm run bundle`. Prints its size; writes nothing.
import { bundleWorkflows } from '../worker/bundle.ts';

const started = performance.now();
const bundle = await bundleWorkflows();
const kib = Math.round(Buffer.byteLength(bundle.code) / 1024);
console.log(`workflow bundle ok: ${kib} KiB in ${Math.round(performance.now() - started)} ms`);
