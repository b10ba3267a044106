/**
 * Per-execution batching for entity fields (the DataLoader pattern): every `price` (say) that
 * one subgraph execution asks for in the same tick is loaded with one port call per site, so a
 * query for 50 products costs one upstream call per context per backend, not 50.
 */
type Loader<V> = (site: string, skus: readonly string[]) => Promise<ReadonlyMap<string, V>>;

export class SkuBatch<V> {
  private queue: Map<string, Set<string>> | undefined;
  private flushed: Promise<Map<string, Promise<ReadonlyMap<string, V>>>> | undefined;

  constructor(private readonly load: Loader<V>) {}

  /** The value for one SKU of one site, or undefined when the backend does not know it. */
  async get(site: string, sku: string): Promise<V | undefined> {
    if (!this.queue) {
      const queue = new Map<string, Set<string>>();
      this.queue = queue;
      // Resolve after the current tick's resolvers have all queued their keys: graphql-js
      // starts every field of a list synchronously, so one tick holds the whole list.
      this.flushed = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
        this.queue = undefined;
        return new Map([...queue].map(([s, skus]) => [s, this.load(s, [...skus])]));
      });
    }
    let skus = this.queue.get(site);
    if (!skus) this.queue.set(site, (skus = new Set()));
    skus.add(sku);
    const loads = await (this.flushed as Promise<Map<string, Promise<ReadonlyMap<string, V>>>>);
    return (await (loads.get(site) as Promise<ReadonlyMap<string, V>>)).get(sku);
  }
}
