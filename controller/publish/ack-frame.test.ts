import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, parseMessage } from '../../api/wire.ts';
import { ackVersion } from './ack-frame.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

test('an ack as agents write it is read from its bytes, with the version parseMessage gives', () => {
  for (const version of ['0123456789abcdef', 'v', 'x'.repeat(128), 'a b:c/d-e_f.g', '~!#$%&\'()*+,-./:;<=>?@[]^_`{|}']) {
    const frame = bytes(encodeMessage({ type: 'ack', version }));
    assert.equal(ackVersion(frame), version, frame.toString());
    assert.deepEqual(parseMessage(frame, 'agent'), { type: 'ack', version });
  }
});

test('anything else is left to parseMessage (null), whether it accepts the frame or not', () => {
  const cases: [string, string | null][] = [
    // [frame, what parseMessage reads as the ack's version (null: refused or another message)]
    ['{"type":"ack","version":""}', null],
    [`{"type":"ack","version":"${'x'.repeat(129)}"}`, null],
    ['{"type":"ack","version":"a\\"b"}', 'a"b'],
    ['{"type":"ack","version":"a\\\\b"}', 'a\\b'],
    ['{"type":"ack","version":"\\u0041"}', 'A'],
    ['{"type":"ack","version":"é"}', 'é'],
    ['{ "type":"ack","version":"abc"}', 'abc'],
    ['{"version":"abc","type":"ack"}', 'abc'],
    ['{"type":"ack","version":"abc"} ', 'abc'],
    ['{"type":"ack","version":"abc","extra":1}', 'abc'],
    ['{"type":"ack","version":"ab"c"}', null],
    ['{"type":"ack","version":"abc"', null],
    ['{"type":"ack","version":"abc"x', null],
    ['{"type":"ack","version":"abc""', null],
    ['{"type":"ack","version":"abcx}', null],
    ['{"type":"nack","version":"abc"}', null],
    ['{"type":"ack","version":"a\tb"}', null],
    ['', null],
    ['"}', null],
  ];
  for (const [text, parsed] of cases) {
    const frame = bytes(text);
    assert.equal(ackVersion(frame), null, text);
    let version: string | null = null;
    try {
      const m = parseMessage(frame, 'agent');
      if (m.type === 'ack') version = m.version;
    } catch {
      version = null;
    }
    assert.equal(version, parsed, text);
  }
});

test('over random frames near an ack, a version read from the bytes is always the one parseMessage reads', () => {
  // A seeded generator: the same 5 000 frames every run.
  let seed = 14;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', '0', 'f', '"', '\\', '}', '{', ' ', ':', ',', 'é', '\u0001', 'u', '\u2028'];
  let read = 0;
  for (let i = 0; i < 5_000; i++) {
    const version = Array.from({ length: rnd(6) }, () => alphabet[rnd(alphabet.length)]).join('');
    const tail = rnd(4) === 0 ? alphabet[rnd(alphabet.length)]! : '';
    const text = rnd(3) === 0 ? encodeMessage({ type: 'ack', version }) : `{"type":"ack","version":"${version}"}${tail}`;
    const frame = bytes(text);
    const fast = ackVersion(frame);
    if (fast === null) continue;
    read++;
    assert.deepEqual(parseMessage(frame, 'agent'), { type: 'ack', version: fast }, text);
  }
  assert.ok(read > 200, `plain acks among them were read from their bytes (${read})`);
});
