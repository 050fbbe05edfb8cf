import { describe, expect, it } from 'vitest';
import { workloadPaths } from '../../bench/http/index.js';

describe('workloadPaths', () => {
  it('is deterministic and follows the documented mix over the seeded ids', () => {
    const paths = workloadPaths(20_000);
    expect(workloadPaths(20_000)).toEqual(paths);
    const share = (re: RegExp) => paths.filter((p) => re.test(p)).length / paths.length;
    expect(share(/^\/courses\/\d+$/)).toBeCloseTo(0.4, 1);
    expect(share(/^\/courses\/\d+\/lessons$/)).toBeCloseTo(0.25, 1);
    expect(share(/^\/users\/\d+$/)).toBeCloseTo(0.25, 1);
    expect(share(/^\/courses\?page=\d+$/)).toBeCloseTo(0.1, 1);
    for (const p of paths) {
      const id = Number(/(\d+)/.exec(p)?.[1]);
      expect(id).toBeGreaterThanOrEqual(1);
      if (p.startsWith('/users/')) expect(id).toBeLessThanOrEqual(2000);
      else if (p.includes('page=')) expect(id).toBeLessThanOrEqual(10);
      else expect(id).toBeLessThanOrEqual(200);
    }
  });
});
