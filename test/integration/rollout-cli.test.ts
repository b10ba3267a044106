/**
 * The `strangler rollout` / `strangler override` commands against a listening gateway (in
 * process: run() of src/cli/main.ts), and a rollback that the flag source cannot take going
 * through the kill override. Embedded world, real faults.
 */
import t from 'tap';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AUTH, TOKEN, drive, driveUntil, faults, rolloutWorld } from '../helpers/rollout.js';
import { EXIT, run } from '../../src/cli/main.js';

t.test('the CLI drives rollouts and the override through the admin API', async (t) => {
  const w = await rolloutWorld(t);
  await w.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = w.app.server.address() as { port: number };
  const cli = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await run([...args, '--gateway', `http://127.0.0.1:${port}`, '--actor', 'bob'], { ADMIN_TOKEN: TOKEN }, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`) });
    return { code, out, err };
  };
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5,50'), { code: EXIT.usage, err: /needs --steps .* and --hold/ });
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5,50', '--hold', 'later'), { code: EXIT.usage, err: /--hold must be a duration/ });
  t.match(await cli('rollout', 'status', 'pricing'), { code: EXIT.notFound, err: /no rollout of pricing/ });
  const started = await cli('rollout', 'start', 'pricing', '--steps', '5,50,100', '--hold', '1h', '--reason', 'GA');
  t.equal(started.code, EXIT.ok, started.err);
  t.match(started.out, /pricing: running at 5 % \(step 1\/3: \[5\] → 50 → 100, hold 1h\)/);
  t.match(started.out, /started +5 % +bob +GA/);
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5', '--hold', '1s'), { code: EXIT.failed, err: /GW_ERR_ADMIN_ROLLOUT_CONFLICT/ });
  t.match(await cli('rollout', 'pause', 'pricing', '--reason', 'lunch'), { code: EXIT.ok, out: /pricing: paused at 5 %/ });
  t.match(await cli('rollout', 'status'), { code: EXIT.ok, out: /pricing +paused +5 % +1\/3 +lunch/ });
  t.match(await cli('rollout', 'abort', 'pricing'), { code: EXIT.ok, out: /pricing: aborted at 0 %/ });
  t.match(await cli('override', 'set', 'pricing'), { code: EXIT.usage, err: /needs --reason/ });
  t.match(await cli('override', 'set', 'pricing', '--reason', 'incident 7'), { code: EXIT.ok, out: /pricing +legacy .* bob +incident 7/ });
  t.match(await cli('override', 'list', '--json'), { code: EXIT.ok, out: /"reason": "incident 7"/ });
  t.match(await cli('override', 'clear', 'pricing'), { code: EXIT.ok, out: /kill override cleared/ });
  t.match(await cli('override', 'list'), { code: EXIT.ok, out: /no kill overrides/ });
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5', '--hold', '1h', '--guardrail', 'latency=2'), { code: EXIT.usage, err: /no guardrail "latency"/ });
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5', '--hold', '1h', '--guardrail', 'p99Ratio=2:many'), { code: EXIT.usage, err: /minimum of samples must be an integer/ });
  t.match(await cli('rollout', 'start', 'pricing', '--steps', '5', '--hold', '1h', '--guardrail', 'fallbackRate=3'), { code: EXIT.usage, err: /fallbackRate\/threshold Expected number to be less or equal to 1/ }, "the gateway's own check");
  const own = await cli('rollout', 'start', 'pricing', '--steps', '5,50', '--hold', '1h', '--guardrail', 'p99Ratio=2:500', '--guardrail', 'errorRateDelta=0.005', '--p99-floor', '75ms');
  t.equal(own.code, EXIT.ok, own.err);
  t.match(own.out, /p99Ratio +- +2x \(floor 75 ms\) +0\/500 +waiting/);
  t.match(own.out, /errorRateDelta +- +0\.50 % +0\/3 +waiting/);
  t.match(own.out, /fallbackRate +- +2\.00 % +0\/3 +waiting/, "the gateway's limits where the rollout sets none");
  t.match(await cli('rollout', 'limits', 'pricing'), { code: EXIT.usage, err: /rollout limits needs --guardrail/ });
  const limits = await cli('rollout', 'limits', 'pricing', '--guardrail', 'p99Ratio=3', '--reason', 'slower is fine');
  t.equal(limits.code, EXIT.ok, limits.err);
  t.match(limits.out, /p99Ratio +- +3x \(floor 75 ms\) +0\/500 +waiting/, 'the threshold changed, the minimum and floor kept');
  t.match(limits.out, /limits_changed +5 % +bob +slower is fine/);
});

t.test('a rollback the flag source cannot take goes through the kill override', async (t) => {
  const w = await rolloutWorld(t);
  await w.app.inject({ method: 'POST', url: '/admin/rollouts/pricing', headers: AUTH, payload: { steps: [50, 100], hold: '1h' } });
  // the flag file becomes a directory: unreadable (last known flags stand) and unwritable
  await rm(join(w.flagsDir, 'routes.json'));
  await mkdir(join(w.flagsDir, 'routes.json'));
  await w.app.gw.flags.reload?.().catch(() => undefined);
  await faults(w.backends.pricing.url, { errorRate: 1 });
  const s = await driveUntil(w, (s) => s.status !== 'running', 20, 20);
  t.equal(s.status, 'rolled_back');
  t.match(s.reason, /fallbackRate .*; the flag could not be written .*: kill override set instead/);
  t.match((await w.app.inject({ url: '/admin/overrides', headers: AUTH })).json(), { overrides: [{ context: 'pricing', actor: 'rollout-controller' }] });
  t.same([...(await drive(w, 10))], ['pricing=legacy'], 'nobody on the new arm');
});
