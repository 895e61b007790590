import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentCountsOf, list, whole } from './args.ts';

test('--agents: counts sorted; 0 alone is the controller without agents; 0 with others, or no number, is refused by name', () => {
  assert.deepEqual(agentCountsOf('1000,100'), [100, 1000]);
  assert.deepEqual(agentCountsOf('0'), [], 'no agent count: only the controller\'s startup and RSS are measured');
  assert.equal(agentCountsOf(undefined), undefined, 'the profile\'s counts');
  assert.throws(() => agentCountsOf('0,100'), /--agents 0 \(the controller alone\) cannot be combined with other counts: '0,100'/);
  assert.throws(() => agentCountsOf('-1'), /--agents takes whole numbers separated by commas, not '-1'/);
  assert.throws(() => agentCountsOf('100,'), /--agents takes whole numbers separated by commas, not ''/);
});

test('--routes takes positive whole numbers; --changes and --timeout-ms one each; what is wrong is named', () => {
  assert.deepEqual(list('routes', '10,1000'), [10, 1000]);
  assert.throws(() => list('routes', '0'), /--routes takes positive whole numbers separated by commas, not '0'/);
  assert.throws(() => list('routes', '1e3x'), /--routes takes positive whole numbers/);
  assert.equal(whole('changes', '5'), 5);
  assert.equal(whole('changes', undefined), undefined);
  for (const bad of ['0', '2.5', 'ten', '']) assert.throws(() => whole('changes', bad), new RegExp(`--changes takes a positive whole number, not '${bad}'`));
  assert.throws(() => whole('timeout-ms', 'x'), /--timeout-ms takes a positive whole number/);
});
