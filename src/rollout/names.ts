/**
 * The guardrails' names, in the order they are judged and shown: a leaf module, so that the
 * console's start form checks a `--guardrail` grammar without bundling the schemas.
 */
export const GUARDRAILS = ['errorRateDelta', 'p99Ratio', 'fallbackRate', 'parityMismatchRate'] as const;
export type GuardrailName = (typeof GUARDRAILS)[number];
