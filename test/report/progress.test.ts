// Training progress (cli/lib/progress.ts): off a terminal, one plain line with step/total, epoch, the
// terms, rate and ETA for the first step, the last, and one per interval between; on a terminal
// (a fake one here), a cli-progress bar that redraws in place, with evaluation lines printed above it.
import { describe, expect, it } from 'vitest';
import { formatEta, Progress } from '../../cli/lib/progress.ts';
import type { StepLog } from '../../runtime/train/init.ts';

const step = (n: number, per = 4): StepLog => ({ step: n, epoch: n / per, lr: 0.01, terms: { mse: 1 / n, l2: 0.5 }, total: 1 / n + 0.5, ms: 2 });

function collector(isTTY: boolean): { stream: { write(s: string): boolean; isTTY: boolean; columns: number }; text(): string } {
  let out = '';
  return { stream: { write: (s: string) => ((out += s), true), isTTY, columns: 160 }, text: () => out };
}

describe('progress', () => {
  it('off a terminal: the first and last step and one line per interval, each with total, rate and ETA', () => {
    const c = collector(false);
    const p = new Progress({ stream: c.stream, intervalMs: 60_000 });
    p.start({ totalSteps: 20, stepsPerEpoch: 4, startStep: 0 });
    for (let n = 1; n <= 20; n++) {
      p.step(step(n));
      if (n === 8) p.line('  eval  step 8 on test: rmse 0.9000');
    }
    p.stop();
    const lines = c.text().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {2}step +1\/20 {2}epoch +0\.25 {2}lr 0\.0100 {2}mse 1\.0000 {2}l2 0\.50000 {2}total 1\.5000 {2}\(2\.0 ms\/step, \S+ steps\/s, ETA (\d+:\d\d|\?)\)$/);
    expect(lines[1]).toBe('  eval  step 8 on test: rmse 0.9000');
    expect(lines[2]).toMatch(/^ {2}step +20\/20 {2}epoch +5\.00 .* ETA 0:00\)$/);
  });

  it('off a terminal with no interval: every step, counting from a resumed step', () => {
    const c = collector(false);
    const p = new Progress({ stream: c.stream, intervalMs: 0 });
    p.start({ totalSteps: 10, stepsPerEpoch: 4, startStep: 6 });
    for (let n = 7; n <= 10; n++) p.step(step(n));
    expect(c.text().trimEnd().split('\n').map((l) => /step +(\d+)\/10/.exec(l)?.[1])).toEqual(['7', '8', '9', '10']);
  });

  it('on a terminal: a bar with step/total, epoch, rate, ETA and the terms; eval lines go above it', () => {
    const c = collector(true);
    const p = new Progress({ stream: c.stream });
    p.start({ totalSteps: 40, stepsPerEpoch: 4, startStep: 0 });
    for (let n = 1; n <= 30; n++) p.step(step(n));
    p.line('  eval  step 30 on validation: rmse 0.8000');
    p.step(step(31));
    p.stop();
    const text = c.text();
    // the bar redraws in place (carriage returns / cursor moves), it does not print a line per step
    expect(text.split('\n').length).toBeLessThan(10);
    expect(text).toMatch(/31\/40 \| epoch 7\.75 \| \S+ steps\/s \| ETA (\d+:\d\d|\?) \| mse 0\.032258 {2}l2 0\.50000/);
    const evalAt = text.indexOf('eval  step 30 on validation');
    expect(evalAt).toBeGreaterThan(0);
    expect(text.lastIndexOf('31/40')).toBeGreaterThan(evalAt); // the bar is drawn again below the eval line
  });

  it('formats the ETA as m:ss or h:mm:ss, and ? without an estimate', () => {
    expect(formatEta(5)).toBe('0:05');
    expect(formatEta(125.4)).toBe('2:05');
    expect(formatEta(3 * 3600 + 61)).toBe('3:01:01');
    expect(formatEta(NaN)).toBe('?');
    expect(formatEta(Infinity)).toBe('?');
  });
});
