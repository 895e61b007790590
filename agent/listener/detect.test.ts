import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from './detect.ts';

const b = (s: string | number[]): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));

describe('protocol classification', () => {
  test('HTTP/1 request lines', () => {
    assert.equal(classify(b('GET / HTTP/1.1\r\n')), 'http1');
    assert.equal(classify(b('OPTIONS ')), 'http1');
    assert.equal(classify(b('PROPFIND /x')), 'http1');
  });
  test('h2c preface needs all 24 bytes, its prefix waits', () => {
    assert.equal(classify(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2c');
    assert.equal(classify(b('PRI * HTTP/2.0\r\n')), null);
    assert.equal(classify(b('PRI')), null);
  });
  test('TLS ClientHello', () => {
    assert.equal(classify(b([0x16, 0x03, 0x01, 0x02, 0x00])), 'tls');
    assert.equal(classify(b([0x16, 0x03])), null);
    assert.equal(classify(b([0x16, 0x01, 0x00])), 'tcp');
  });
  test('anything else is opaque TCP', () => {
    assert.equal(classify(b([0x00, 0x01])), 'tcp');
    assert.equal(classify(b('get / HTTP/1.1')), 'tcp');
    assert.equal(classify(b(' GET')), 'tcp');
    assert.equal(classify(b('A'.repeat(30))), 'tcp');
  });
  test('an undecided prefix asks for more', () => {
    assert.equal(classify(b('')), null);
    assert.equal(classify(b('POS')), null);
  });
});
