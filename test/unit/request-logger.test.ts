/**
 * The request logger made on demand: the access line written through the parent is the line the
 * pino child would have written, byte for byte, and anything else logged makes the child once.
 */
import t from 'tap';
import pino from 'pino';
import { loggerOptions } from '../../src/observability/logger.js';
import { RequestLogger, logAccess } from '../../src/observability/request-logger.js';

function capture(level = 'info') {
  const lines: string[] = [];
  // the gateway's pino options (redaction, base, time), writing to an array
  const logger = pino(loggerOptions(level) as pino.LoggerOptions, { write: (l: string) => void lines.push(l) });
  return { logger, lines };
}

const BINDINGS = { reqId: 'r-1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
const FIELDS = { method: 'GET', url: '/occ/v2/x?q="a"', statusCode: 200, responseTime: 1.5, route: undefined };

t.test('the access line through the parent is the child line, byte for byte', async (t) => {
  const viaChild = capture();
  viaChild.logger.child({ ...BINDINGS }, {}).info(FIELDS, 'request completed');
  const viaParent = capture();
  const log = new RequestLogger(viaParent.logger, { ...BINDINGS }, {});
  logAccess(log, FIELDS, 'request completed');
  t.equal(viaParent.lines.length, 1);
  // the time field differs when the millisecond turns between the two lines
  const strip = (l: string) => l.replace(/"time":"[^"]+"/, '"time":"T"');
  t.equal(strip(viaParent.lines[0]!), strip(viaChild.lines[0]!));
  t.match(JSON.parse(viaParent.lines[0]!), { ...BINDINGS, msg: 'request completed', level: 30 });
});

t.test('other lines make the child once and carry the bindings; the access line then goes through it', async (t) => {
  const { logger, lines } = capture();
  let children = 0;
  const parent = Object.create(logger, { child: { value: (b: pino.Bindings, o?: pino.ChildLoggerOptions) => (children++, logger.child(b, o)) } }) as pino.Logger;
  const log = new RequestLogger(parent, { ...BINDINGS }, {});
  log.warn({ event: 'x' }, 'first');
  log.error('second');
  logAccess(log, FIELDS, 'request completed');
  t.equal(children, 1, 'one child for the request');
  t.same(
    lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((o) => [o.msg, o.reqId, o.span_id]),
    [
      ['first', 'r-1', BINDINGS.span_id],
      ['second', 'r-1', BINDINGS.span_id],
      ['request completed', 'r-1', BINDINGS.span_id],
    ],
  );
});

t.test('levels: the parent level filters; a level set on the request logger applies to its lines', async (t) => {
  const { logger, lines } = capture('warn');
  const quiet = new RequestLogger(logger, { ...BINDINGS }, {});
  logAccess(quiet, FIELDS, 'request completed');
  quiet.info('not written');
  t.equal(lines.length, 0);
  t.equal(quiet.level, 'warn');
  const loud = new RequestLogger(logger, { ...BINDINGS }, { level: 'debug' });
  t.equal(loud.level, 'debug', "a route's logLevel");
  logAccess(loud, FIELDS, 'request completed');
  loud.debug('written');
  t.same(
    lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['request completed', 'written'],
  );
});
