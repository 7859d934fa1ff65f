/**
 * An object whose every property is an operation: unknown names reach the runner, which
 * answers with a typed error instead of "is not a function". Never looks like a promise.
 */
export function operationProxy(make: (name: string) => unknown): Record<string, unknown> {
  const cache = new Map<string, unknown>();
  return new Proxy(
    {},
    {
      get(_t, key) {
        if (typeof key !== "string" || key === "then") return undefined;
        let f = cache.get(key);
        if (!f) {
          f = make(key);
          cache.set(key, f);
        }
        return f;
      },
    },
  );
}
