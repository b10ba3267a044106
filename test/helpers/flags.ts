import type { ContextName } from '../../src/config/load.js';

export type Rollouts = Partial<Record<ContextName, number>>;

export interface FlagOptions {
  stickiness?: 'default' | 'userId' | 'sessionId' | 'random';
  constraints?: { contextName: string; operator: 'IN' | 'NOT_IN'; values: string[] }[];
}

export function flagFile(rollouts: Rollouts, opts: FlagOptions = {}): object {
  return {
    version: 1,
    features: (['pricing', 'inventory', 'promotions'] as const).map((c) => ({
      name: `route.${c}`,
      enabled: true,
      strategies: [
        {
          name: 'flexibleRollout',
          parameters: { rollout: String(rollouts[c] ?? 0), stickiness: opts.stickiness ?? 'default', groupId: `route.${c}` },
          constraints: opts.constraints ?? [],
        },
      ],
    })),
  };
}

