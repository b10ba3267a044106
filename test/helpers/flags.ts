import { InMemStorageProvider, Unleash } from 'unleash-client';
import { CONTEXTS, flagOf, type ContextName } from '../../src/contexts/names.js';

export type Rollouts = Partial<Record<ContextName, number>>;

export interface FlagOptions {
  stickiness?: 'default' | 'userId' | 'sessionId' | 'random';
  constraints?: { contextName: string; operator: 'IN' | 'NOT_IN'; values: string[] }[];
}

export function flagFile(rollouts: Rollouts, opts: FlagOptions = {}): object {
  return {
    version: 1,
    // every context of the registry, a registered one too (test/integration/fourth-context.test.ts)
    features: CONTEXTS.map((c) => ({
      name: flagOf(c),
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: String(rollouts[c] ?? 0), stickiness: opts.stickiness ?? 'default', groupId: flagOf(c) },
          constraints: opts.constraints ?? [],
        },
      ],
    })),
  };
}


/**
 * A separate unleash-client bootstrapped with `features`, the reference the gateway's decisions
 * are compared with; destroyed at the end of the test.
 */
export async function referenceUnleash(t: { teardown(fn: () => unknown): void }, features: object[]): Promise<Unleash> {
  const reference = new Unleash({
    appName: 'reference',
    url: 'http://reference.invalid/api',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: features as never[] },
    skipInstanceCountWarning: true,
  });
  await new Promise((r) => reference.once('ready', r));
  t.teardown(() => reference.destroy());
  return reference;
}
