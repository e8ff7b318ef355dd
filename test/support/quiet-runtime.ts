// Test setup: the worker SDK logs only warnings and errors, so test output stays readable.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
