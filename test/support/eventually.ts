/**
 * Reads `read` until `done` accepts its value or `timeoutMs` passes, and returns the last
 * value either way (the caller's assertion then says what was wrong). Workflow state,
 * mail delivery and visibility move asynchronously.
 */
export async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
