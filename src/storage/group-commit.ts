/**
 * Group commit: callers that arrive while a transaction is being written wait and are then written together
 * in the next one, so N concurrent webhook POSTs cost one commit (one fsync on SQLite) instead of N. Each
 * caller still gets its own result, and none is answered before the transaction holding its rows committed.
 */
export interface GroupCommitter<In, Out> {
  (input: In): Promise<Out>;
  /** Resolves once nothing is waiting or being written (at once when idle): lets lower-priority writers go after. */
  idle(): Promise<void>;
}

export function groupCommit<In, Out>(write: (batch: In[]) => Promise<Out[]>, maxBatch = 256): GroupCommitter<In, Out> {
  let pending: { input: In; resolve: (o: Out) => void; reject: (e: unknown) => void }[] = [];
  let writing = false;
  let idleWaiters: (() => void)[] = [];

  const flush = async (): Promise<void> => {
    writing = true;
    while (pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      try {
        const outs = await write(batch.map((b) => b.input));
        batch.forEach((b, i) => b.resolve(outs[i]!));
      } catch (e) {
        // One bad batch must not fail callers that would have succeeded alone: retry them one by one.
        if (batch.length === 1) batch[0]!.reject(e);
        else {
          for (const b of batch) {
            try {
              b.resolve((await write([b.input]))[0]!);
            } catch (e1) {
              b.reject(e1);
            }
          }
        }
      }
    }
    writing = false;
    const w = idleWaiters;
    idleWaiters = [];
    for (const r of w) r();
  };

  const submit = (input: In) =>
    new Promise<Out>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      if (!writing) {
        writing = true;
        // The flush waits for the check phase instead of starting now: on SQLite the whole transaction runs
        // synchronously, so starting at the first caller would commit it alone while the other requests read in
        // the same poll phase wait for a second commit. Deferred, every request that arrived together shares one.
        setImmediate(() => void flush());
      }
    });
  return Object.assign(submit, {
    idle: () => (writing ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
  });
}
