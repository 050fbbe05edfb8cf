import { describe, expect, it } from 'vitest';
import { GradientClimber, HitRateClimber, STEP_FRACTION } from '../../src/policy/hill-climber.js';

describe('GradientClimber', () => {
  it('moves one step once the votes one way reach the threshold', () => {
    const climber = new GradientClimber();
    for (let i = 1; i < GradientClimber.threshold; i++) expect(climber.vote(1)).toBe(0);
    expect(climber.vote(1)).toBe(STEP_FRACTION);
    for (let i = 1; i < GradientClimber.threshold; i++) expect(climber.vote(-1)).toBe(0);
    expect(climber.vote(-1)).toBe(-STEP_FRACTION);
  });

  it('stays put while the evidence is balanced', () => {
    const climber = new GradientClimber();
    for (let i = 0; i < 1000; i++) expect(climber.vote(i % 2 === 0 ? 1 : -1)).toBe(0);
  });

  it('forgets pending votes on reset', () => {
    const climber = new GradientClimber();
    for (let i = 1; i < GradientClimber.threshold; i++) climber.vote(1);
    climber.reset();
    expect(climber.vote(1)).toBe(0);
  });
});

describe('HitRateClimber', () => {
  function sample(climber: HitRateClimber, hitRate: number): number {
    const period = climber.period;
    climber.hits = Math.round(period * hitRate);
    climber.misses = period - climber.hits;
    return climber.adjust();
  }

  it('waits for a full sample', () => {
    const climber = new HitRateClimber(10_000, 100_000);
    climber.hits = 10;
    expect(climber.adjust()).toBe(0);
  });

  it('keeps the direction while the hit rate holds and turns around when it drops', () => {
    const climber = new HitRateClimber(10_000, 100_000);
    const first = sample(climber, 0.5); // large caches open by shrinking the window
    expect(first).toBeLessThan(0);
    const second = sample(climber, 0.51);
    expect(Math.sign(second)).toBe(Math.sign(first));
    const third = sample(climber, 0.5);
    expect(Math.sign(third)).toBe(-Math.sign(second));
  });

  it('opens by growing the window for small caches', () => {
    const climber = new HitRateClimber(100, 2560);
    expect(sample(climber, 0.3)).toBeGreaterThan(0);
  });
});
