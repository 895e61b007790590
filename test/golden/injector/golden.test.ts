// Injector goldens: each case's manifests are injected and compared with `<case>.out.yaml`
// (rewritten with UPDATE_GOLDEN=1; review the diff). Beyond the text, every pod in a case is
// checked for what the webhook relies on: the patch turns the original into the injected pod,
// inject() leaves its input alone, and injecting the injected pod changes nothing.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import jsonpatch from 'fast-json-patch';
import { inject } from '../../../injector/inject/index.ts';
import { injectorCases, parseGolden, podsOf, renderGolden } from '../../support/injector-goldens.ts';


const UPDATE = process.env.UPDATE_GOLDEN === '1';

describe('injector goldens', () => {
  for (const c of injectorCases()) {
    test(c.name, async (t) => {
      const text = renderGolden(c);
      await t.test('out.yaml', () => {
        if (UPDATE) writeFileSync(c.outFile, text);
        else if (!existsSync(c.outFile)) assert.fail(`${c.outFile} is missing: run with UPDATE_GOLDEN=1 and review it`);
        else assert.equal(text, readFileSync(c.outFile, 'utf8'), `${c.outFile} differs: rerun with UPDATE_GOLDEN=1 if the change is intended`);
      });
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
        }
      });
    });
  }
});
