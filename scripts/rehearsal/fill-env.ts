// Writes an operator's .env the way the runbook says to make one: .env.example copied, and
// the given settings filled in where the example names them (its `NAME=` line, or the
// commented `# NAME=…` default line). A name .env.example does not have is refused, so the
// rehearsal cannot use a setting an operator would not find there.
//
//   printf 'NAME=value\n…' | node scripts/rehearsal/fill-env.ts .env.example OUT
import { readFile, writeFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { parseEnv } from 'node:util';

const [examplePath, outPath] = process.argv.slice(2);
if (!examplePath || !outPath) throw new Error('usage: fill-env.ts .env.example OUT < NAME=value lines');
const settings = parseEnv(await text(process.stdin)) as Record<string, string>;
const lines = (await readFile(examplePath, 'utf8')).split('\n');

const unfilled = new Set(Object.keys(settings));
const filled = lines.map((line) => {
  const name = /^(?:# )?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
  if (!name || !unfilled.has(name)) return line;
  unfilled.delete(name);
  return `${name}=${settings[name]}`;
});
if (unfilled.size > 0) throw new Error(`${examplePath} has no line for ${[...unfilled].join(', ')}: an operator could not set it from there`);
await writeFile(outPath, filled.join('\n'), { mode: 0o600 });
