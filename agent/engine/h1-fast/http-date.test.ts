// The Date field the fast path adds: its format (IMF-fixdate, what node:http writes) and the
// field lookup that decides whether an upstream answer already has one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasDate, httpDate } from './http-date.ts';

test('httpDate is the IMF-fixdate of the current second', () => {
  const cases: [number, string][] = [
    [Date.UTC(2026, 11, 6, 23, 59, 59, 999), 'Sun, 06 Dec 2026 23:59:59 GMT'],
    [Date.UTC(2026, 11, 7, 0, 0, 0, 1), 'Mon, 07 Dec 2026 00:00:00 GMT'],
    [Date.UTC(2027, 0, 1, 9, 5, 3), 'Fri, 01 Jan 2027 09:05:03 GMT'],
  ];
  for (const [at, want] of cases) assert.equal(httpDate(at), want);
});

test('hasDate finds a Date field in any case, and only by its name', () => {
  const cases: [string[], boolean][] = [
    [[], false],
    [['Date', 'x'], true],
    [['content-type', 'a', 'DATE', 'x'], true],
    [['x-date', 'x', 'dates', 'y'], false],
    [['x', 'date'], false],
  ];
  for (const [fields, want] of cases) assert.equal(hasDate(fields), want, JSON.stringify(fields));
});
