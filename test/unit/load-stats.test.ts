import t from 'tap';
import { median, pairedRatios, ratio, sideOf, spread } from '../../load-tests/lib/stats.js';

t.test('spread: the fastest of repeated runs over the slowest', async (t) => {
  t.same(spread([18443, 26105, 19133, 21157, 23393]), { min: 18443, max: 26105, factor: 1.42 });
  t.same(spread([100, 100]), { min: 100, max: 100, factor: 1 }, 'runs that agree: 1');
  t.equal(spread([5000]), null, 'one run says nothing about drift');
  t.equal(spread([0, 5000]), null, 'a failed run (0 req/s) is not a slow one');
  t.equal(spread([]), null);
});

t.test('median and ratio, as the compare summary uses them', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(ratio(1, 3), 0.333);
  t.equal(ratio(1, 0), null, 'no baseline, no ratio');
});

t.test('pairedRatios: one target over another, round by round', async (t) => {
  // the gateway and the bare proxy in the five autocannon rounds of a full run
  t.same(pairedRatios([7103, 7682, 5701, 5629, 5358], [6192, 7383, 5522, 4885, 7988]), [1.147, 1.04, 1.032, 1.152, 0.671]);
  t.same(pairedRatios([100, undefined, 300], [50, 100, undefined]), [2], 'a round where either did not run is skipped');
  t.same(pairedRatios([100, 0], [50, 100]), [2], 'a failed run (0 req/s) is no ratio');
  t.same(pairedRatios([100, 200, 300], [50]), [2], 'rounds beyond the shorter series are skipped');
  t.same(pairedRatios([], []), []);
});

t.test('sideOf: whether rounds agree on a target', async (t) => {
  t.equal(sideOf([1.147, 1.04, 1.032, 1.152, 0.671], 1.0), 'both', 'four rounds above, one below: the verdict is noise');
  t.equal(sideOf([1.0, 1.2], 1.0), 'met', 'the target itself counts as met');
  t.equal(sideOf([0.42, 0.48], 0.5), 'missed');
  t.equal(sideOf([], 0.6), null);
});
