import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTING_TABLE_API_VERSION, withVersion, type RoutingTable } from '../api/index.ts';
import { HeapReclaimer } from '../common/heap-reclaim.ts';
import { TableHolder, tableSize } from './table-holder.ts';
import { ManualTableSource } from './table-source.ts';

function tableWith(backendName: string): RoutingTable {
  return withVersion({
    apiVersion: ROUTING_TABLE_API_VERSION, gateways: [], services: [], secrets: [], policies: [],
    backends: [{ name: backendName, namespace: 'ns', serviceName: 'x', port: 80, appProtocol: null, endpoints: [] }],
  });
}

describe('TableHolder', () => {
  test('follows a source, compiles each new table once, and reports swaps', () => {
    const compiled: string[] = [];
    const swaps: string[] = [];
    const holder = new TableHolder<string>({
      compile: (t) => {
        compiled.push(t.version);
        return `compiled-${t.version}`;
      },
      onSwap: (next, prev) => swaps.push(`${prev?.table.version ?? 'none'}->${next.table.version}`),
    });
    const a = tableWith('service/ns/a/80');
    const b = tableWith('service/ns/b/80');
    const source = new ManualTableSource(a);
    const stop = holder.follow(source);
    source.push(a);
    source.push(b);
    assert.equal(holder.current?.compiled, `compiled-${b.version}`);
    assert.deepEqual(compiled, [a.version, b.version]);
    assert.deepEqual(swaps, [`none->${a.version}`, `${a.version}->${b.version}`]);
    stop();
    source.push(a);
    assert.equal(holder.current?.table.version, b.version, 'unsubscribed');
  });

  test('refuses invalid tables and keeps the last good one', () => {
    const logs: string[] = [];
    const holder = new TableHolder<null>({ compile: () => null, log: (m) => logs.push(m) });
    const good = tableWith('service/ns/a/80');
    assert.equal(holder.apply(good), true);
    assert.equal(holder.apply({ ...tableWith('service/ns/b/80'), version: 'forged' }), false);
    assert.equal(holder.apply({ ...good, version: 'x', backends: [{ ...good.backends[0]!, port: 0 }] }), false);
    assert.equal(holder.current?.table, good);
    assert.equal(holder.rejected, 2);
    assert.match(holder.lastError ?? '', /port/);
    assert.equal(logs.length, 2);
  });

  test('a compile failure is a refusal too', () => {
    const holder = new TableHolder<null>({ compile: () => {
      throw new Error('boom');
    } });
    assert.equal(holder.apply(tableWith('service/ns/a/80')), false);
    assert.equal(holder.current, null);
  });

  test('each swap tells the reclaimer the sizes it replaced (services + backends + virtual hosts), refusals do not', () => {
    const swaps: string[] = [];
    const reclaimer = new HeapReclaimer({ collect: () => undefined });
    reclaimer.noteSwap = (previous, next) => void swaps.push(`${previous}->${next}`);
    const holder = new TableHolder<null>({ compile: () => null, reclaimer });
    const backends = (n: number): RoutingTable['backends'] => Array.from({ length: n }, (_, i) => ({ name: `service/ns/s${i}/80`, namespace: 'ns', serviceName: `s${i}`, port: 80, appProtocol: null, endpoints: [] }));
    const big = withVersion({ ...tableWith('service/ns/a/80'), backends: backends(3) });
    holder.apply(tableWith('service/ns/a/80'));
    holder.apply(big);
    holder.apply({ ...big, version: 'forged' });
    holder.apply(tableWith('service/ns/b/80'));
    assert.deepEqual(swaps, ['0->1', '1->3', '3->1']);
    assert.equal(tableSize(big), 3);
  });
});
