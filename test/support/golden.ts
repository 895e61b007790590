// Golden files for every layer that has them (conformance translation, the injector, the chart):
// a case is `<name>.in.yaml` beside its `<name>.out.yaml`; the output is compared with what the
// code produces, or rewritten when UPDATE_GOLDEN=1. An output whose input is gone (a renamed
// or deleted case) is an orphan: reported as a failure, and deleted under UPDATE_GOLDEN=1, so
// stale expectations never linger unseen.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const UPDATE_GOLDEN = process.env.UPDATE_GOLDEN === '1';

export interface GoldenCase {
  name: string;
  inFile: string;
  outFile: string;
}

/** Cases in `dir`, sorted by name; `outSuffix` names the output beside each input. */
export function goldenCases(dir: string, outSuffix = '.out.yaml'): GoldenCase[] {
  return readdirSync(dir).filter((f) => f.endsWith('.in.yaml')).sort().map((f) => {
    const name = f.slice(0, -'.in.yaml'.length);
    return { name, inFile: join(dir, f), outFile: join(dir, `${name}${outSuffix}`) };
  });
}

/** Outputs in `dir` without an input; deleted under UPDATE_GOLDEN=1 (then returns none). */
export function orphanOutputs(dir: string, outSuffix = '.out.yaml', update = UPDATE_GOLDEN): string[] {
  const orphans = readdirSync(dir)
    .filter((f) => f.endsWith(outSuffix) && !existsSync(join(dir, `${f.slice(0, -outSuffix.length)}.in.yaml`)))
    .sort();
  if (!update) return orphans;
  for (const f of orphans) rmSync(join(dir, f));
  return [];
}

/** Compares `actual` with the golden file, or writes it under UPDATE_GOLDEN=1. */
export function assertGolden(outFile: string, actual: string, update = UPDATE_GOLDEN): void {
  if (update) {
    writeFileSync(outFile, actual);
    return;
  }
  if (!existsSync(outFile)) assert.fail(`${outFile} is missing: run with UPDATE_GOLDEN=1 and review it`);
  assert.equal(actual, readFileSync(outFile, 'utf8'), `${outFile} differs: rerun with UPDATE_GOLDEN=1 if the change is intended`);
}
