#!/usr/bin/env python3
# Entry point of a model exported by `recc export --target torch` (written by recc; the same for every model).
#   python3 train.py                                    one process (CPU, or CUDA with --device cuda)
#   python3 -m torch.distributed.run --nproc_per_node 2 train.py      DDP: gloo on CPU, nccl on GPUs
#   python3 train.py --nproc 2                          the same without torchrun (it sets the same env)
#   python3 train.py --check ENV_DIR --out result.json  float64 terms and gradients at recc's values
#   python3 train.py --objective out.json               every term on the whole training data at the start
# Options: --steps N, --epochs N, --device cpu|cuda, --dtype float32|float64, --log loss.csv,
# --metrics metrics.json, --no-eval, --init trained|initial (a package exported from a run folder
# starts from the run's trained params unless --init initial).
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import recc_torch  # noqa: E402

if __name__ == "__main__":
    recc_torch.main(HERE, sys.argv[1:])
