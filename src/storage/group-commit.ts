/**
 * Group commit: callers that arrive while a transaction is being written wait and are then written together
 * in the next one, so N concurrent webhook POSTs cost one commit (one fsync on SQLite) instead of N. Each
 * caller still gets its own result, and none is answered before the transaction holding its rows committed.
 * The same batching serves reads: the gate's PostgreSQL read answers the decisions that arrive together in one
 * statement (storage/postgres/gate-facts-read.ts).
 */
export interface GroupCommitter<In, Out> {
  (input: In): Promise<Out>;
  /** Resolves once nothing is waiting or being written (at once when idle): lets lower-priority writers go after. */
  idle(): Promise<void>;
}

type Waiting<In, Out> = { input: In; resolve: (o: Out) => void; reject: (e: unknown) => void };

/**
 * `lanes`: how many transactions may be written at once (1 where the database has one writer, as SQLite). With
 * more, callers that arrive while every lane is busy still wait for the next free lane and share it.
 */
export function groupCommit<In, Out>(
  write: (batch: In[]) => Promise<Out[]>,
  maxBatch = 256,
  lanes = 1,
): GroupCommitter<In, Out> {
  let pending: Waiting<In, Out>[] = [];
  let busy = 0;
  let scheduled = false;
  let idleWaiters: (() => void)[] = [];

  const runBatch = async (batch: Waiting<In, Out>[]): Promise<void> => {
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
  };

  const fill = (): void => {
    scheduled = false;
    while (pending.length > 0 && busy < lanes) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      busy += 1;
      void runBatch(batch).finally(() => {
        busy -= 1;
        if (pending.length > 0) fill();
        else if (busy === 0 && !scheduled) {
          const w = idleWaiters;
          idleWaiters = [];
          for (const r of w) r();
        }
      });
    }
  };

  const submit = (input: In) =>
    new Promise<Out>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      if (!scheduled && busy < lanes) {
        scheduled = true;
        // The write waits for the check phase instead of starting now: on SQLite the whole transaction runs
        // synchronously, so starting at the first caller would commit it alone while the other requests read in
        // the same poll phase wait for a second commit. Deferred, every request that arrived together shares one.
        setImmediate(fill);
      }
    });
  return Object.assign(submit, {
    // Waiting callers always have a write scheduled or every lane busy, so these two say it all.
    idle: () => (busy > 0 || scheduled ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
  });
}
