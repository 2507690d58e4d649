// The sweep's search space: each SPEC form parses to its axis, a grid is every combination, random
// trials are reproducible from (seed, trial) alone and log-uniform draws spread evenly over decades.
import { describe, expect, it } from 'vitest';
import { axisText, gridConfigs, parseAxis, randomConfig } from '../../cli/experiment/space.ts';

describe('sweep search space', () => {
  it('parses lists and ranges; `a..b` is log-uniform when it spans two decades', () => {
    expect(parseAxis('d=16,32,64')).toEqual({ name: 'd', kind: 'list', values: [16, 32, 64] });
    expect(parseAxis('lr=loguniform(1e-4,1e-1)')).toEqual({ name: 'lr', kind: 'loguniform', lo: 1e-4, hi: 0.1, whole: false });
    expect(parseAxis('d=int(8, 64)')).toEqual({ name: 'd', kind: 'uniform', lo: 8, hi: 64, whole: true });
    expect(parseAxis('gramw=0.001..1')).toMatchObject({ kind: 'loguniform' });
    expect(parseAxis('l2w=0.1..0.5')).toMatchObject({ kind: 'uniform', whole: false });
    for (const bad of ['lr', 'lr=', 'lr=loguniform(0,1)', 'lr=uniform(2,1)', 'd=int(1.5,4)', 'd=a,b']) expect(() => parseAxis(bad), bad).toThrow(/--param/);
  });

  it('logint(a,b) draws whole numbers log-uniformly; axisText reads back as the same axis (how sweep.json keeps a block\'s axes)', () => {
    expect(parseAxis('d=logint(8,256)')).toEqual({ name: 'd', kind: 'loguniform', lo: 8, hi: 256, whole: true });
    expect(() => parseAxis('d=logint(8,25.5)')).toThrow(/whole numbers/);
    for (const text of ['d=16,32,64', 'lr=loguniform(0.0001,0.1)', 'l2w=uniform(-1,1)', 'd=int(8,64)', 'd=logint(8,256)', 'x=uniform(1e-7,0.5)']) {
      const a = parseAxis(text);
      expect(parseAxis(axisText(a)), text).toEqual(a);
    }
    const d = parseAxis('d=logint(8,256)');
    for (let i = 0; i < 200; i++) {
      const v = randomConfig([d], 2, i).d!;
      expect(Number.isInteger(v) && v >= 8 && v <= 256).toBe(true);
    }
  });

  it('a grid is every combination, the first axis slowest; ranges cannot be gridded', () => {
    expect(gridConfigs([parseAxis('a=1,2'), parseAxis('b=3,4,5')])).toEqual([
      { a: 1, b: 3 }, { a: 1, b: 4 }, { a: 1, b: 5 }, { a: 2, b: 3 }, { a: 2, b: 4 }, { a: 2, b: 5 },
    ]);
    expect(() => gridConfigs([parseAxis('lr=uniform(0,1)')])).toThrow(/--search grid needs a list/);
  });

  it('random trials depend on (seed, trial) only, stay in range, and log-uniform covers each decade alike', () => {
    const axes = [parseAxis('lr=loguniform(1e-4,1e-1)'), parseAxis('d=int(8,64)'), parseAxis('k=1,2,3')];
    expect(randomConfig(axes, 5, 7)).toEqual(randomConfig(axes, 5, 7));
    expect(randomConfig(axes, 5, 7)).not.toEqual(randomConfig(axes, 6, 7));
    const draws = Array.from({ length: 3000 }, (_, i) => randomConfig(axes, 1, i));
    for (const c of draws) {
      expect(c.lr).toBeGreaterThanOrEqual(1e-4);
      expect(c.lr).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(c.d) && c.d! >= 8 && c.d! <= 64).toBe(true);
      expect([1, 2, 3]).toContain(c.k);
    }
    // three decades, about a third of the draws in each (uniform on [1e-4, 1e-1] would put 90% in the last)
    const perDecade = [1e-3, 1e-2, 1e-1].map((hi) => draws.filter((c) => c.lr! <= hi && c.lr! > hi / 10).length / draws.length);
    for (const share of perDecade) expect(share).toBeGreaterThan(0.28);
    expect(new Set(draws.map((c) => c.d)).size).toBe(57); // every whole number 8..64 is drawn
  });
});
