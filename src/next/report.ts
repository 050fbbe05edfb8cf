/**
 * The failure reporter of a runtime: calls `onError` when given (a throwing listener is ignored), else warns
 * with `console.warn` at most every 30 seconds.
 *
 * @internal
 */
export function failureReporter(
  onError: ((error: unknown, operation: string) => void) | undefined,
): (error: unknown, operation: string) => void {
  let lastWarn = 0;
  return (error, operation) => {
    if (onError !== undefined) {
      try {
        onError(error, operation);
      } catch {
        // a failing listener must not break the cache
      }
      return;
    }
    const now = Date.now();
    if (now - lastWarn < 30_000) return;
    lastWarn = now;
    const message = error instanceof Error ? error.message : String(error);
    console.warn(
      `[larder/next] ${operation}: ${message} (serving without the shared cache until Redis is back)`,
    );
  };
}
