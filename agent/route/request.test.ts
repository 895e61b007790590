import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headerValue, hostOf, normalizePath, parseQuery } from './request.ts';

describe('normalizePath', () => {
  const cases: [string, string | null][] = [
    ['/', '/'],
    ['/a/b/', '/a/b/'],
    ['/a//b', '/a//b'],
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/b/..', '/a/'],
    ['/../../x', '/x'],
    ['/..', '/'],
    ['/.hidden/x', '/.hidden/x'],
    ['/%7Euser/%41', '/~user/A'],
    ['/a%2fb', '/a%2Fb'],
    ['/%2e%2e/secret', '/secret'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/%', null],
    ['/%g0', null],
    ['/a b', null],
    ['/a\tb', null],
    ['', null],
    ['*', null],
    ['a/b', null],
  ];
  for (const [raw, want] of cases) {
    test(`${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () => assert.equal(normalizePath(raw), want));
  }
});

describe('hostOf', () => {
  const cases: [string, string | null][] = [
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['[FD00::1]:443', '[fd00::1]'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['', ''],
    ['bad host', null],
    ['a/b', null],
    ['[::1', null],
  ];
  for (const [raw, want] of cases) {
    test(`${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () => assert.equal(hostOf(raw), want));
  }
  test('the same answers asked twice in a row and interleaved (the last authority is remembered)', () => {
    for (const [raw, want] of cases) {
      assert.equal(hostOf(raw), want, raw);
      assert.equal(hostOf(raw), want, `${raw} again`);
    }
    for (const [raw, want] of [...cases].reverse()) assert.equal(hostOf(raw), want, raw);
  });
});

describe('query and header values', () => {
  test('the first value of a repeated parameter wins; names and values are percent-decoded', () => {
    const q = parseQuery('a=1&a=2&b&c=%41&d=%zz&&e=x=y');
    assert.deepEqual([...q], [['a', '1'], ['b', ''], ['c', 'A'], ['d', '%zz'], ['e', 'x=y']]);
  });
  test('repeated headers join with commas, cookies with semicolons', () => {
    assert.equal(headerValue({ a: ['1', '2'] }, 'a'), '1,2');
    assert.equal(headerValue({ cookie: ['a=1', 'b=2'] }, 'cookie'), 'a=1; b=2');
    assert.equal(headerValue({}, 'a'), undefined);
  });
});
