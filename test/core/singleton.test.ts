import { describe, expect, it, vi } from 'vitest';
import { Cache, singleton } from '../../src/index.js';
import { bad, expectBadInput } from './helpers.js';

let counter = 0;
/** A name no other test (or earlier run in this process) has used. */
const uniqueName = (label: string) => `larder-test-core-singleton-${label}-${process.pid}-${counter++}`;

describe('singleton', () => {
  it('returns the same object for the same name; the factory runs once', () => {
    const name = uniqueName('same');
    const factory = vi.fn(() => new Cache<string, number>({ max: 10 }));
    const a = singleton(name, factory);
    const b = singleton(name, factory);
    expect(a).toBe(b);
    expect(factory).toHaveBeenCalledTimes(1);
    a.set('x', 1);
    expect(b.get('x')).toBe(1);
  });

  it('different names give different objects', () => {
    const a = singleton(uniqueName('a'), () => ({ id: 'a' }));
    const b = singleton(uniqueName('b'), () => ({ id: 'b' }));
    expect(a).not.toBe(b);
    expect(a.id).toBe('a');
    expect(b.id).toBe('b');
  });

  it('survives a module reload (a fresh copy of the module sees the same object)', async () => {
    const name = uniqueName('reload');
    const factory = vi.fn(() => ({ created: Math.random() }));
    const first = singleton(name, factory);
    vi.resetModules();
    const fresh = (await import('../../src/index.js')) as typeof import('../../src/index.js');
    expect(fresh.singleton).not.toBe(singleton);
    const second = fresh.singleton(name, factory);
    expect(second).toBe(first);
    expect(factory).toHaveBeenCalledTimes(1);
  });

  it('lives on globalThis under a Symbol.for key (not a string property)', () => {
    const name = uniqueName('global');
    const before = Object.getOwnPropertyNames(globalThis).length;
    const value = singleton(name, () => ({ v: 1 }));
    // Something reachable from globalThis through a registered symbol holds it.
    const symbols = Object.getOwnPropertySymbols(globalThis).filter((s) => Symbol.keyFor(s) !== undefined);
    const found = symbols.some((s) => {
      const holder = (globalThis as Record<symbol, unknown>)[s];
      if (holder === value) return true;
      if (holder instanceof Map) return [...holder.values()].includes(value);
      if (holder !== null && typeof holder === 'object') return Object.values(holder).includes(value);
      return false;
    });
    expect(found).toBe(true);
    expect(Object.getOwnPropertyNames(globalThis).length).toBe(before);
  });

  // Spec silent: a demanding user expects a throwing factory not to poison the name.
  it('a factory that throws stores nothing; the next call runs the factory again', () => {
    const name = uniqueName('throws');
    expect(() =>
      singleton(name, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(singleton(name, () => 'ok')).toBe('ok');
  });

  it('checks its arguments', () => {
    expectBadInput(() => singleton(uniqueName('bad'), bad(42)), /factory/);
    expectBadInput(() => singleton(bad(42), () => 1), /name/);
  });
});
