/** The subscriptions a transport has open, so `close()` can end them all. */
export class OpenIterators {
  private readonly open = new Set<AsyncIterableIterator<unknown>>();

  /** Tracks `it` until its `return()` (a `break` or closeAll) ends it; returns it. */
  track<R>(it: AsyncIterableIterator<R>): AsyncIterableIterator<R> {
    this.open.add(it);
    const end = it.return!.bind(it);
    it.return = () => {
      this.open.delete(it);
      return end();
    };
    return it;
  }

  /** Ends every tracked iterator. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((it) => it.return?.()));
  }
}

/**
 * Maps an async iterator without an async generator: a generator's `return()` waits for a pending
 * `next()`, so ending a quiet subscription would hang; here `return()` goes straight to the source.
 */
export function mapAsyncIterator<T, R>(
  source: Promise<AsyncIterator<T>> | AsyncIterator<T>,
  map: (value: T) => R,
  mapError: (error: unknown) => unknown = (e) => e,
): AsyncIterableIterator<R> {
  const ready = Promise.resolve(source);
  // A source that fails to start reports through next(); unobserved, it must not crash the process.
  ready.catch(() => undefined);
  let done = false;
  const finish = async (): Promise<IteratorResult<R>> => {
    if (!done) {
      done = true;
      const it = await ready.catch(() => undefined);
      await it?.return?.();
    }
    return { done: true, value: undefined };
  };
  return {
    async next() {
      if (done) return { done: true, value: undefined };
      try {
        const it = await ready;
        const r = await it.next();
        if (r.done) {
          done = true;
          return { done: true, value: undefined };
        }
        return { done: false, value: map(r.value) };
      } catch (error) {
        await finish().catch(() => undefined);
        throw mapError(error);
      }
    },
    return: finish,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
