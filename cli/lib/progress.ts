// Training progress on stderr, like tqdm. In a terminal: one bar that redraws in place (cli-progress,
// loaded only then) with step/total, epoch, rate, ETA and the current loss terms; lines printed
// meanwhile (evaluations, notes) go above the bar instead of scrolling it away. Elsewhere (a CI log, a
// pipe): the same facts as one plain line per interval (and the first and last step), e.g.
//   step     40/200  epoch    0.50  lr 0.01  mse 0.91234  total 0.91234  (1.2 ms/step, 812 steps/s, ETA 0:02)
import { createRequire } from 'node:module';
import type { StepLog } from '../../runtime/train/init.ts';

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface ProgressOptions {
  /** where to draw (stderr) */
  readonly stream: ProgressStream;
  /** draw a redrawing bar; default: whether the stream is a terminal */
  readonly tty?: boolean;
  /** the least time between two plain lines, ms (default 1000) */
  readonly intervalMs?: number;
}

/** What a run will do, known once training starts (runtime/train/train.ts `onStart`). */
export interface ProgressStart {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /** steps already done (a resumed run) */
  readonly startStep: number;
}

/** `h:mm:ss` or `m:ss`; `?` for no estimate. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const termsText = (s: StepLog): string => Object.entries(s.terms).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join('  ');

/** cli-progress's MultiBar, as much of it as is used here */
interface Bars {
  create(total: number, start: number, payload: Record<string, string>): { update(value: number, payload: Record<string, string>): void };
  log(text: string): void;
  /** redraws now (and schedules the next redraw) */
  update(): void;
  stop(): void;
}

export class Progress {
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private plan: ProgressStart = { totalSteps: 0, stepsPerEpoch: 1, startStep: 0 };
  private startedAt = 0;
  private lastLine = -Infinity;
  private lastDraw = -Infinity;
  private bars?: Bars;
  private bar?: ReturnType<Bars['create']>;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = opts.tty ?? opts.stream.isTTY === true;
    this.intervalMs = opts.intervalMs ?? 1000;
  }

  start(plan: ProgressStart): void {
    this.plan = plan;
    this.startedAt = performance.now();
    if (!this.tty) return;
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
    const bars = new cliProgress.MultiBar(
      {
        stream: this.opts.stream as NodeJS.WriteStream,
        // {left}: cli-progress's own {eta} is whole seconds; this is m:ss from the rate since start
        format: '  {bar} {value}/{total} | epoch {epoch} | {rate} steps/s | ETA {left} | {terms}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        forceRedraw: true,
        linewrap: false,
        noTTYOutput: true, // the caller decided this stream shows a bar (a test's fake terminal)
        fps: 10,
        gracefulExit: false, // Ctrl-C is recc run's to handle (a checkpoint, then stop)
      },
      cliProgress.Presets.shades_classic,
    ) as unknown as Bars;
    this.bars = bars;
    this.bar = bars.create(Math.max(plan.totalSteps, 1), plan.startStep, { epoch: '0.00', rate: '?', left: '?', terms: '' });
  }

  /** steps per second since start, and the seconds left at that rate */
  private pace(step: number): { rate: number; eta: number } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const done = step - this.plan.startStep;
    const rate = seconds > 0 && done > 0 ? done / seconds : NaN;
    return { rate, eta: (this.plan.totalSteps - step) / rate };
  }

  step(s: StepLog): void {
    const { rate, eta } = this.pace(s.step);
    const rateText = Number.isFinite(rate) ? (rate >= 100 ? rate.toFixed(0) : rate.toPrecision(3)) : '?';
    const now = performance.now();
    if (this.bar) {
      this.bar.update(s.step, { epoch: s.epoch.toFixed(2), rate: rateText, left: formatEta(eta), terms: termsText(s) });
      // cli-progress redraws on a timer, which a run that does not yield between steps never lets fire
      if (now - this.lastDraw >= 100) this.draw(now);
      return;
    }
    const last = s.step >= this.plan.totalSteps;
    if (!last && s.step !== this.plan.startStep + 1 && now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    const w = String(this.plan.totalSteps).length;
    this.opts.stream.write(
      `  step ${`${String(s.step).padStart(Math.max(6, w))}/${this.plan.totalSteps}`}  epoch ${s.epoch.toFixed(2).padStart(7)}  lr ${s.lr.toPrecision(3)}  ${termsText(s)}  total ${s.total.toPrecision(5)}` +
        `  (${s.ms.toFixed(1)} ms/step, ${rateText} steps/s, ETA ${formatEta(eta)})\n`,
    );
  }

  private draw(now: number): void {
    this.lastDraw = now;
    this.bars?.update();
  }

  /** A line of its own (an evaluation, a warning): above the bar in a terminal, at once. */
  line(text: string): void {
    if (!this.bars) {
      this.opts.stream.write(text + '\n');
      return;
    }
    this.bars.log(text + '\n');
    this.draw(performance.now());
  }

  /** Ends the bar (its last state stays on screen); plain lines then follow below it. */
  stop(): void {
    this.bars?.stop();
    this.bars = undefined;
    this.bar = undefined;
  }
}
