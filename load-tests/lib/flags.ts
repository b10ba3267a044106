/**
 * Flag files for the gateway under test (Unleash client-features format, the same shape as
 * flags/routes.json). Written atomically: the gateway polls FLAGS_DIR and would reject (and log)
 * a half-written file, which would add noise to exactly the moment a flip scenario measures.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTEXTS, flagOf, type ContextName } from '../../src/contexts/names.js';

// the gateway's context list (src/contexts/names.ts), so a new context gets its flag here too
export { CONTEXTS, type ContextName };
export type Rollouts = Readonly<Partial<Record<ContextName, number>>>;

/** Every context at `percent` (the list's contexts, however many). */
export function allContexts(percent: number): Rollouts {
  return Object.fromEntries(CONTEXTS.map((c) => [c, percent]));
}

export function flagFile(rollouts: Rollouts): object {
  return {
    version: 1,
    features: CONTEXTS.map((c) => ({
      name: flagOf(c),
      description: `load test: ${c} at ${rollouts[c] ?? 0} %`,
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          // default stickiness: userId (the harness sends x-user-id), so a split is per user
          parameters: { rollout: String(rollouts[c] ?? 0), stickiness: 'default', groupId: flagOf(c) },
          constraints: [],
        },
      ],
    })),
  };
}

export async function writeFlags(dir: string, rollouts: Rollouts): Promise<void> {
  const tmp = join(dir, '.routes.json.tmp'); // not *.json: the gateway ignores it
  await writeFile(tmp, JSON.stringify(flagFile(rollouts), null, 2));
  await rename(tmp, join(dir, 'routes.json'));
}

export function describeRollouts(r: Rollouts): string {
  return CONTEXTS.map((c) => `${c} ${r[c] ?? 0}%`).join(', ');
}
