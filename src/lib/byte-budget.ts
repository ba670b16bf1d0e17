/**
 * A budget of bytes that requests take a share of while they are read and handled, so what the process holds at
 * once is bounded whatever arrives: a request that does not fit waits (first come, first served) until earlier
 * ones finish. One request larger than the whole budget still runs, alone.
 */
export interface ByteBudget {
  /** Resolves with a release function (safe to call more than once) once `bytes` fit in the budget. */
  take(bytes: number): Promise<() => void>;
  /** Bytes taken now, and requests waiting: for metrics and tests. */
  stats(): { used: number; waiting: number };
}

export function createByteBudget(capacity: number): ByteBudget {
  let used = 0;
  const queue: { bytes: number; grant: () => void }[] = [];
  const pump = () => {
    while (queue.length > 0) {
      const head = queue[0]!;
      if (used > 0 && used + head.bytes > capacity) return;
      queue.shift();
      used += head.bytes;
      head.grant();
    }
  };
  return {
    take(bytes) {
      const n = Math.max(0, Math.ceil(bytes));
      return new Promise((resolve) => {
        queue.push({
          bytes: n,
          grant: () => {
            let done = false;
            resolve(() => {
              if (done) return;
              done = true;
              used -= n;
              pump();
            });
          },
        });
        pump();
      });
    },
    stats: () => ({ used, waiting: queue.length }),
  };
}
