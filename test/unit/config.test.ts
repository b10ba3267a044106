import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';

t.test('defaults: the embedded world on loopback, flags from files', async (t) => {
  const c = loadConfig({});
  t.equal(c.host, '127.0.0.1');
  t.equal(c.port, 8080);
  t.same(c.upstreams, { legacy: undefined, pricing: undefined, inventory: undefined, promotions: undefined });
  t.same(c.flags, { source: 'file', dir: 'flags' });
  t.equal(c.adminToken, undefined);
  t.ok(Object.isFrozen(c), 'config is frozen');
});

t.test('every problem is reported at once', async (t) => {
  const err = (() => {
    try {
      loadConfig({ PORT: '99999', LEGACY_URL: 'ftp://x', UNLEASH_URL: 'http://unleash:4242/api', LOG_LEVEL: 'loud' });
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof ConfigError);
  const msg = (err as ConfigError).message;
  t.match(msg, /PORT/);
  t.match(msg, /LEGACY_URL/);
  t.match(msg, /LOG_LEVEL/);
  t.match(msg, /UNLEASH_API_TOKEN: required when UNLEASH_URL is set/);
});

t.test('real upstreams and Unleash', async (t) => {
  const c = loadConfig({
    LEGACY_URL: 'http://sap.internal:9002/',
    PRICING_URL: 'http://pricing:8080',
    UNLEASH_URL: 'http://unleash:4242/api',
    UNLEASH_API_TOKEN: 'default:development.abc',
    PORT: '9000',
  });
  t.equal(c.upstreams.legacy, 'http://sap.internal:9002', 'trailing slash dropped');
  t.equal(c.upstreams.pricing, 'http://pricing:8080');
  t.equal(c.port, 9000);
  t.match(c.flags, { source: 'unleash', url: 'http://unleash:4242/api', token: 'default:development.abc', refreshMs: 1000 });
});

t.test('passthrough prefixes must be path prefixes', async (t) => {
  t.throws(() => loadConfig({ LEGACY_PASSTHROUGH_PREFIXES: '/occ/v2/,medias' }), /LEGACY_PASSTHROUGH_PREFIXES/);
});

t.test('slow-client timeouts: defaults, and headers within the request', async (t) => {
  const d = loadConfig({});
  t.equal(d.headersTimeoutMs, 10_000);
  t.equal(d.requestTimeoutMs, 30_000);
  t.throws(() => loadConfig({ HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '2000' }), /HEADERS_TIMEOUT_MS: at most REQUEST_TIMEOUT_MS/);
  t.throws(() => loadConfig({ REQUEST_TIMEOUT_MS: '0' }), /REQUEST_TIMEOUT_MS/, 'never off');
});

t.test('GATEWAY_WORKERS: a count, or auto = the available cores; GATEWAY_INSTANCES a count', async (t) => {
  const { availableParallelism } = await import('node:os');
  t.equal(loadConfig({}).workers, 1, 'one process by default');
  t.equal(loadConfig({ GATEWAY_WORKERS: '3' }).workers, 3);
  t.equal(loadConfig({ GATEWAY_WORKERS: 'auto' }).workers, availableParallelism());
  t.throws(() => loadConfig({ GATEWAY_WORKERS: '0' }), /GATEWAY_WORKERS/);
  t.throws(() => loadConfig({ GATEWAY_WORKERS: 'many' }), /GATEWAY_WORKERS/);
  t.equal(loadConfig({ GATEWAY_INSTANCES: '2' }).instances, 2);
});
