// A node:test reporter that prints each test file's wall time, slowest first (OPTLINE_TEST_TIMES=1 npm test):
// what to look at when the suite grows slow.
export default async function* fileTimes(source) {
  const times = [];
  for await (const ev of source) {
    const d = ev.data;
    if (ev.type === 'test:complete' && d?.file && d.name === d.file && d.nesting === 0)
      times.push([d.file, d.details?.duration_ms ?? 0]);
  }
  times.sort((a, b) => b[1] - a[1]);
  const total = times.reduce((s, [, ms]) => s + ms, 0);
  yield `\n# test files by wall time (${times.length} files, ${(total / 1000).toFixed(0)} s in all)\n`;
  for (const [file, ms] of times)
    yield `# ${(ms / 1000).toFixed(1).padStart(6)} s  ${file.replace(process.cwd() + '/', '')}\n`;
}
