/**
 * Text from a hostile file made safe to store and read: control characters written as `\xNN`
 * (a CR reads `\x0D`, a NUL `\x00`), and cut at a length with a marker saying how long it was,
 * so one runaway field cannot blow up a D1 row or a terminal. Pure.
 */

/** The longest stored value or raw line, in characters (after escaping): ten times a real Sodiwin row. */
export const readableTextMaxChars = 2000;

/** C0 controls, DEL and C1 controls: nothing a reader can see. */
const invisible = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with each control character as `\xNN` (upper-case hex). */
export function escapeControls(text: string): string {
  return text.replace(invisible, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The marker that ends a cut text: how many characters the escaped text had. */
export function cutMarker(totalChars: number): string {
  return ` …[cut: ${totalChars} characters in all]`;
}

/** `text` escaped, then cut to `maxChars` characters plus the marker when longer. */
export function readableText(text: string, maxChars: number = readableTextMaxChars): string {
  const escaped = escapeControls(text);
  if (escaped.length <= maxChars) return escaped;
  // Not half an escape (`\x0`) nor half a surrogate pair at the cut.
  const kept = escaped.slice(0, maxChars).replace(/\\(x[0-9A-F]?)?$/, '').replace(/[\ud800-\udbff]$/, '');
  return `${kept}${cutMarker(escaped.length)}`;
}
