/**
 * Production entry: config → gateway → listen → graceful close on SIGTERM/SIGINT. Every upstream
 * URL must be configured: an unset one is a configuration error naming its variable (exit 78),
 * never a simulator started in its place. `src/embedded.ts` is the entry that starts simulators.
 */
import { requireUpstreams } from './config/load.js';
import { configOrExit, exitOnStartFailure, serve } from './serve.js';

const config = configOrExit(requireUpstreams);
serve({ config, upstreamUrls: requireUpstreams(config) }).catch(exitOnStartFailure);
