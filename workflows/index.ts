/** Every workflow the worker registers (the entry point of the workflow bundle). */
export { warehouseProbe } from './probe.ts';
