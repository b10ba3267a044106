import t from 'tap';
import { median, ratio, spread } from '../../load-tests/lib/stats.js';

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
