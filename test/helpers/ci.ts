/** Whether the tests run in CI (`CI=true` or `CI=1`), where suites that need Redis or the traces must not skip. */
export const inCI = (): boolean => process.env.CI === 'true' || process.env.CI === '1';
