import { setFlagsFromString } from 'node:v8';

/**
 * Bounds how far V8 lets the heap grow past the live set before its next full collection. By default V8 lets it grow
 * up to 4× when collections are cheap, which is what a flood of large webhook bodies produces: each body leaves
 * ~25 MB of short-lived parse and storage garbage, and the peak resident size then depends on when V8 gets round to
 * collecting it, not on what the process holds. With 50 % the peak follows the live set (measured with 50 signed
 * 4 MB webhooks at once: peak RSS ~290 MB instead of 350–430 MB), for a few more full collections of a live heap
 * that is small (~60 MB) in this service. 0 leaves V8's heuristics alone.
 */
export function boundHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
