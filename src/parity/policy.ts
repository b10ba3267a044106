/**
 * A context's shadow policy, as its descriptor declares it (src/contexts/descriptor.ts
 * ContextPolicy.shadow). A leaf module: the parity runner reads it without reaching the descriptor
 * (which carries GraphQL types, and so the Gateway).
 */
/**
 * How a context's two answers are compared (src/parity/compare.ts). Paths are the port method,
 * then the canonical fields: a Map key (a SKU) reads `*`
 * (`prices.*.amount`), a list item `[]` (`list[].code`); `*` in a rule matches any one segment.
 */
export interface ShadowPolicy {
  /** default share (0..100) of the context's reads shadowed; `SHADOW_<CTX>_PERCENT` overrides it */
  readonly samplePercent: number;
  /** fields never compared (a timestamp, a server-generated id) */
  readonly ignore?: readonly string[];
  /** numbers equal within an absolute tolerance, per path (`{ 'evaluate.total.amount': 1 }`) */
  readonly tolerance?: Readonly<Record<string, number>>;
  /** lists compared as multisets: their order is not a difference */
  readonly unordered?: readonly string[];
  /** the business signal a disagreement counts as (metrics: money per currency, stock status, promotions) */
  readonly signal?: 'price' | 'stock' | 'promotion';
}

/** An operator's comparison rules for a context (SHADOW_<CTX>_IGNORE, _UNORDERED, _TOLERANCE). */
export interface OperatorRules {
  readonly ignore: readonly string[];
  readonly unordered: readonly string[];
  readonly tolerance: Readonly<Record<string, number>>;
}

/**
 * The policy a context is compared by: its own, with an operator's rules added (ignored and
 * unordered patterns joined, a tolerance per pattern replacing the context's). A context with no
 * policy of its own gets one (sampling 0 %: SHADOW_<CTX>_PERCENT decides).
 */
export function withOperatorRules(policy: ShadowPolicy | undefined, extra: OperatorRules | undefined): ShadowPolicy | undefined {
  if (!extra) return policy;
  return {
    ...policy,
    samplePercent: policy?.samplePercent ?? 0,
    ignore: [...new Set([...(policy?.ignore ?? []), ...extra.ignore])],
    unordered: [...new Set([...(policy?.unordered ?? []), ...extra.unordered])],
    tolerance: { ...policy?.tolerance, ...extra.tolerance },
  };
}
