/**
 * A Map that forgets its oldest entry once it holds `max`: for tables filled from request data
 * (verified tokens, normalised addresses), which must not grow without end.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
