import t from 'tap';
import { arrivedBetween, median, medianInterval, pairedRatios, ratio, sideOf, slidingP99, spread } from '../../load-tests/lib/stats.js';

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

t.test('medianInterval: how firm the median of the rounds is (sign-test interval)', async (t) => {
  const rounds = [1.147, 1.04, 1.032, 1.152, 0.671];
  t.same(medianInterval(rounds), { lo: 0.671, hi: 1.152, confidence: 0.9375 }, '5 rounds cannot reach 95 %: the range, at 1 − 2/32');
  t.same(rounds, [1.147, 1.04, 1.032, 1.152, 0.671], 'the rounds are not reordered');
  t.same(medianInterval([6, 1, 5, 2, 4, 3]), { lo: 1, hi: 6, confidence: 0.9688 }, '6 rounds: 95 % reached by the range');
  const eleven = Array.from({ length: 11 }, (_, i) => 11 - i);
  t.same(medianInterval(eleven), { lo: 2, hi: 10, confidence: 0.9883 }, '11 rounds: the 2nd and 10th of them');
  t.same(medianInterval(eleven, 0.9), { lo: 3, hi: 9, confidence: 0.9346 }, 'a lower level narrows it');
  t.same(medianInterval(Array.from({ length: 20 }, (_, i) => i + 1)), { lo: 6, hi: 15, confidence: 0.9586 }, '20 rounds: the 6th and 15th (the textbook table)');
  t.same(medianInterval([0.9]), { lo: 0.9, hi: 0.9, confidence: 0 }, 'one round: no confidence at all');
  t.equal(medianInterval([]), null);
  const i = medianInterval([0.95, 0.98, 1.01, 1.03, 1.06, 1.08])!;
  t.equal(sideOf([i.lo, i.hi], 1.0), 'both', 'a target inside the interval: the verdict is noise');
});

t.test('slidingP99: every 3 s window of the steady part, to hold a flip window against', async (t) => {
  // 100 requests a second at 10 ms; second 4 has a 120 ms pause for 5 of its requests
  const seconds = Array.from({ length: 8 }, (_, s) => Array.from({ length: 100 }, (_, i) => (s === 4 && i < 5 ? 120 : 10)));
  const w = slidingP99(seconds, 1, 8, 3);
  t.same(w, [10, 120, 120, 120, 10], 'windows [1,4) … [5,8): the three that hold second 4 show the pause');
  t.equal(w.filter((p) => p >= 120).length, 3, 'a flip window at 120 ms would be within this run\'s ordinary windows');
  t.same(slidingP99(seconds, 1, 3, 3), [], 'a steady part shorter than one window gives none');
  t.same(slidingP99(seconds, 6, 20, 3), [], 'windows stop at the end of the run');
});

t.test('arrivedBetween: a flip window to the millisecond, not to the whole second', async (t) => {
  // 4 responses a second, at .0 .25 .5 .75; latency = the arrival time × 100, so each is recognisable
  const arrivals = Array.from({ length: 5 }, (_, s) => [0, 0.25, 0.5, 0.75].map((f) => s + f));
  const latencies = arrivals.map((sec) => sec.map((a) => Math.round(a * 100)));
  t.same(arrivedBetween(latencies, arrivals, 1.3, 2.5), [150, 175, 200, 225], 'from 1.3 (exclusive of 1.25) up to, not including, 2.5');
  t.same(arrivedBetween(latencies, arrivals, 4.6, 9), [475], 'a window past the end of the run stops at its last response');
  t.same(arrivedBetween(latencies, arrivals, 2, 2), [], 'an empty window');
});
