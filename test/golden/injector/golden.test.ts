// Injector goldens: each case's manifests are injected and compared with `<case>.out.yaml`
// (rewritten with UPDATE_GOLDEN=1; review the diff). Beyond the text, every pod in a case is
// checked for what the webhook relies on: the patch turns the original into the injected pod,
// inject() leaves its input alone, injecting the injected pod changes nothing, and the
// meshlet-init arguments are ones `meshlet init` itself accepts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { inject, type Container } from '../../../injector/inject/index.ts';
import { parseInitArgs } from '../../../agent/intercept/index.ts';
import { assertGolden, orphanOutputs } from '../../support/golden.ts';
import { INJECTOR_CASES_DIR, injectorCases, parseGolden, podsOf, renderGolden } from '../../support/injector-goldens.ts';


describe('injector goldens', () => {
  test('no output without its input', () => assert.deepEqual(orphanOutputs(INJECTOR_CASES_DIR), []));
  for (const c of injectorCases()) {
    test(c.name, async (t) => {
      const text = renderGolden(c);
      await t.test('out.yaml', () => assertGolden(c.outFile, text));
      const golden = parseGolden(text);
      if (golden.exit !== 0) return;
      await t.test('each pod: patch applies, input untouched, re-injection is a no-op', () => {
        for (const { pod, namespace } of podsOf(readFileSync(c.inFile, 'utf8'))) {
          const before = structuredClone(pod);
          const r = inject(pod, { name: namespace }, c.mesh);
          assert.deepEqual(pod, before, 'inject() modified its input');
          const patched = jsonpatch.applyPatch(structuredClone(pod), r.patch, true, false).newDocument;
          assert.deepEqual(patched, r.pod, 'the patch does not produce the injected pod');
          const again = inject(r.pod, { name: namespace }, c.mesh);
          assert.deepEqual(again.patch, [], 'injecting the injected pod changed it');
          const init = r.pod.spec.initContainers?.find((x: Container) => x.name === 'meshlet-init');
          if (r.injected) {
            const args = init?.args as string[];
            assert.equal(args[0], 'init');
            assert.doesNotThrow(() => parseInitArgs(args.slice(1)), 'meshlet init refuses the rendered arguments');
          }
        }
      });
    });
  }
});

test('the exclusion annotations reach meshlet init as the options it runs with', () => {
  const c = injectorCases().find((x) => x.name === 'annotations')!;
  const { pod, namespace } = podsOf(readFileSync(c.inFile, 'utf8'))[0]!;
  const init = inject(pod, { name: namespace }, c.mesh).pod.spec.initContainers![0]!;
  const { options } = parseInitArgs((init.args as string[]).slice(1));
  assert.deepEqual(options.excludeInboundPorts, [9100, 9101]);
  assert.deepEqual(options.excludeOutboundPorts, [25, 5432]);
  assert.deepEqual(options.excludeOutboundCidrs, ['169.254.169.254/32', 'fd00::/8']);
  assert.deepEqual(options.includeOutboundCidrs, ['10.96.0.0/12']);
  assert.deepEqual([options.outboundPort, options.inboundPort, options.proxyUids], [15001, 15006, [1337]]);
});
