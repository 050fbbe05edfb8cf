/**
 * The eviction policies the whole core suite runs under (issue 7: "Run the whole test suite under both
 * policies"). Use with `describe.each(policies)` where behaviour does not depend on the policy.
 */
export const policies = ['lru', 'tinylfu'] as const;

/** One of {@link policies}. */
export type PolicyName = (typeof policies)[number];
