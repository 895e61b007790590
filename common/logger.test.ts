import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, LogConfigError, processLogger, toLogger } from './logger.ts';

const at = (): Date => new Date('2026-12-02T17:00:00.000Z');

test('text lines: time, level, component, message, then key=value fields (quoted when needed)', () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l), now: at, fields: { component: 'agent' } });
  log.info('table applied', { version: 'v1', routes: 3 });
  log.child({ peer: '10.0.0.1:5000' }).warn('refused', { reason: 'bad host = x' });
  assert.deepEqual(lines, [
    '2026-12-02T17:00:00.000Z info  agent: table applied version=v1 routes=3\n',
    '2026-12-02T17:00:00.000Z warn  agent: refused peer=10.0.0.1:5000 reason="bad host = x"\n',
  ]);
});

test('json lines parse back into time, level, msg and the fields; undefined fields are left out', () => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', write: (l) => lines.push(l), now: at, fields: { component: 'controller' } });
  log.error('status write failed', { route: 'default/r', code: 409, leader: true, gone: undefined });
  assert.deepEqual(JSON.parse(lines[0]!), { time: '2026-12-02T17:00:00.000Z', level: 'error', msg: 'status write failed', component: 'controller', route: 'default/r', code: 409, leader: true });
});

test('the level filters: warn drops info and debug; enabled() says so', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', write: (l) => lines.push(l), now: at });
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  assert.equal(lines.length, 2);
  assert.equal(log.enabled('info'), false);
  assert.equal(log.enabled('error'), true);
});

test('flags win over the environment; a bad value names where it came from', () => {
  const fromEnv = processLogger('agent', {}, { MESHLET_LOG_LEVEL: 'debug', MESHLET_LOG_FORMAT: 'json' });
  assert.equal(fromEnv.enabled('debug'), true);
  assert.equal(processLogger('agent', { level: 'error' }, { MESHLET_LOG_LEVEL: 'debug' }).enabled('warn'), false);
  assert.throws(() => processLogger('agent', {}, { MESHLET_LOG_LEVEL: 'loud' }), (e: unknown) => e instanceof LogConfigError && /MESHLET_LOG_LEVEL wants one of error, warn, info, debug, got 'loud'/.test(e.message));
  assert.throws(() => processLogger('agent', { format: 'xml' }), /--log-format wants text or json/);
});

test('a plain callback still works as a sink: message and fields, no time or level prefix', () => {
  const lines: string[] = [];
  const log = toLogger((l) => lines.push(l));
  log.debug('retry', { attempt: 2 });
  assert.deepEqual(lines, ['retry attempt=2']);
});
