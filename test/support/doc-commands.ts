/**
 * The `warehouse` command lines a document tells its reader to type: lines of its code blocks
 * (fenced or indented) and inline code spans that start with `warehouse`, `./warehouse` or
 * `docker compose exec [-T] worker warehouse`, as argument lists. Optional parts written
 * `[--table orders]` are kept (the reader may type them); a trailing `# comment` is dropped.
 * Synopses (`a | b`, `…`, `<command>`) and an inline span that only names a command
 * (`warehouse query`) are not command lines and are skipped. Pure.
 */

/** One command line of a document, where it is written. */
export interface DocCommand {
  file: string;
  line: number;
  text: string;
  /** The arguments after `warehouse`. */
  args: string[];
}

const invocation = /^(?:\$ )?(?:\.\/warehouse|warehouse|docker compose exec (?:-T )?worker warehouse)\s+(.*)$/;

/** The command lines of one document's text. */
export function docCommands(file: string, markdown: string): DocCommand[] {
  const commands: DocCommand[] = [];
  let fenced = false;
  markdown.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (/^\s*```/.test(raw)) {
      fenced = !fenced;
      return;
    }
    const inBlock = fenced || /^( {4}|\t)/.test(raw);
    const candidates = inBlock ? [raw.trim()] : [...raw.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.trim());
    for (const candidate of candidates) {
      const match = invocation.exec(candidate);
      if (!match) continue;
      const text = stripComment(match[1]!).trim();
      if (/[|…<>]|\.\.\./.test(text) || text === '') continue;
      // An inline `warehouse query` names a command; a line of a code block is typed as it is.
      if (!inBlock && !/\s/.test(text)) continue;
      commands.push({ file, line, text: candidate, args: shellWords(text.replace(/[[\]]/g, '')) });
    }
  });
  return commands;
}

/** The line without a shell comment (a `#` outside quotes, after a blank). */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i);
  }
  return text;
}

/** Words as a POSIX shell splits them: blanks separate, single and double quotes group. */
export function shellWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + c;
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${text}`);
  if (word !== undefined) words.push(word);
  return words;
}
