/**
 * Shared by the rollout suites (test/integration/rollout*.test.ts): a world with an admin token,
 * the controller judged by tick() (its interval set far out), and sequential traffic.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, type World } from './world.js';
import type { GatewayEvent } from '../../src/events/bus.js';
import type { RolloutState } from '../../src/rollout/schemas.js';

export const TOKEN = 'test-admin-token-0123456789';
export const AUTH = { authorization: `Bearer ${TOKEN}`, 'x-actor': 'alice' };
export const SITE = 'electronics-spa';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const faults = (url: string, body: object) => fetch(`${url}/__faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface RolloutWorld extends World {
  events: GatewayEvent[];
  auditPath: string;
}

export async function rolloutWorld(t: Parameters<typeof startWorld>[0], env: Record<string, string> = {}, rollouts: Parameters<typeof startWorld>[1] = {}): Promise<RolloutWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'strangler-rollout-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const auditPath = join(dir, 'audit.jsonl');
  const w = await startWorld(t, rollouts, {
    ADMIN_TOKEN: TOKEN,
    AUDIT_LOG_PATH: auditPath,
    // judged by tick() below, not by the clock
    ROLLOUT_TICK_MS: '3600000',
    ROLLOUT_MIN_SAMPLES: '3',
    // millisecond latencies of two in-process arms are noise, not a regression: the p99 guardrail
    // is exercised with a real latency fault below, with its own floor
    ROLLOUT_P99_FLOOR_MS: '1000',
    ...env,
  });
  const events: GatewayEvent[] = [];
  w.app.gw.events.onEmit((e) => {
    if (e.type.startsWith('rollout.') || e.type.startsWith('kill.')) events.push(e);
  });
  return Object.assign(w, { events, auditPath });
}

let user = 0;
/** `n` product reads, each from a new user (x-user-id): the flag's percentage splits them. */
export async function drive(w: World, n: number): Promise<Set<string>> {
  const routes = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await w.app.inject({ url: `/api/v1/sites/${SITE}/products/1000001`, headers: { 'x-user-id': `shopper-${user++}` } });
    if (r.statusCode !== 200) throw new Error(`product read answered ${r.statusCode}: ${r.body}`);
    routes.add(String(r.headers['x-strangler-route']).split(',')[0]!);
  }
  return routes;
}

export async function state(w: World, context = 'pricing'): Promise<RolloutState> {
  const r = await w.app.inject({ url: `/admin/rollouts/${context}`, headers: AUTH });
  if (r.statusCode !== 200) throw new Error(`GET rollout: ${r.statusCode} ${r.body}`);
  return r.json();
}

/** Drives traffic and judges until `until` holds (or gives up after `rounds`). */
export async function driveUntil(w: World, until: (s: RolloutState) => boolean, rounds = 60, batch = 40): Promise<RolloutState> {
  for (let i = 0; i < rounds; i++) {
    await drive(w, batch);
    await w.app.gw.rollouts.controller.tick();
    const s = await state(w);
    if (until(s)) return s;
    if (i % 5 === 4) await sleep(50);
  }
  return state(w);
}

export const flagPercent = async (w: World) => {
  const file = JSON.parse(await readFile(join(w.flagsDir, 'routes.json'), 'utf8')) as { features: { name: string; strategies: { parameters: { rollout: string } }[] }[] };
  return Number(file.features.find((f) => f.name === 'route.pricing')!.strategies[0]!.parameters.rollout);
};
