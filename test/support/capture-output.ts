/**
 * What is written to process.stdout and process.stderr while `body` runs (and one tick after, for winston's
 * streams), kept from the terminal: how the tests read the operational log where winston's Console writes it.
 */
export async function captureOutput(body: () => Promise<void>): Promise<string> {
  const written: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const grab = (chunk: unknown) => { written.push(String(chunk)); return true; };
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  try {
    await body();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return written.join('');
}
