// What a sweep or a cross-validation may change in a model besides its consts and dims: the optimizer's
// learning rate and the run's length. `--set lr=0.01` would be refused by the checker (RC0509: no
// const named lr), so these names are taken off the bindings first and applied to the checked model's
// `train { … }` (a plain record) here; a model const of the same name wins, as `--set` always meant it.
import type { Model } from '../../compiler/check/model.ts';
import { UsageError } from '../lib/args.ts';

/** The training settings a binding may name, with what each must be. */
export const TRAIN_SETTINGS = {
  lr: 'a positive number',
  steps: 'a whole number ≥ 0',
  epochs: 'a whole number ≥ 1',
} as const;
export type TrainSetting = keyof typeof TRAIN_SETTINGS;

export interface TrainOverrides {
  readonly lr?: number;
  readonly steps?: number;
  readonly epochs?: number;
}

/** Splits NAME=VALUE bindings into the model's consts/dims (`declared`) and training settings. */
export function splitBindings(bindings: ReadonlyMap<string, number>, declared: ReadonlySet<string>): { sets: Map<string, number>; train: TrainOverrides } {
  const sets = new Map<string, number>();
  const train: { lr?: number; steps?: number; epochs?: number } = {};
  for (const [name, value] of bindings) {
    if (declared.has(name) || !(name in TRAIN_SETTINGS)) {
      sets.set(name, value);
      continue;
    }
    const key = name as TrainSetting;
    const ok = key === 'lr' ? value > 0 && Number.isFinite(value) : Number.isSafeInteger(value) && value >= (key === 'steps' ? 0 : 1);
    if (!ok) throw new UsageError(`${name}=${value}: ${name} must be ${TRAIN_SETTINGS[key]}`);
    train[key] = value;
  }
  if (train.steps !== undefined && train.epochs !== undefined) throw new UsageError('give either steps or epochs, not both');
  return { sets, train };
}

/** The model with the learning rate replaced (steps/epochs go to the trainer's options, not the model). */
export function withTrainOverrides(model: Model, o: TrainOverrides): Model {
  if (o.lr === undefined) return model;
  if (model.train.optimizer.kind === 'als') throw new UsageError('lr: `optimizer als` solves each block exactly and has no learning rate');
  return { ...model, train: { ...model.train, optimizer: { ...model.train.optimizer, lr: o.lr } } };
}
