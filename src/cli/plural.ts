/** Counts in words: `count(1, 'person', 'people')` is "1 person", `count(3, 'row')` is "3 rows". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
