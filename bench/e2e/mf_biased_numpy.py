#!/usr/bin/env python3
# examples/mf-biased.recmodel written by hand in numpy: the peer of `recc run` in bench/e2e.ts.
# Same model (r̂ = U_u·V_i + b_u + b_i + μ; mse + λ·mean(‖U_u‖² + ‖V_i‖²)), same training (Adam lr 0.005,
# lazy on the rows a batch touches as recc's row-sparse update, 40 epochs of batches of 4096 over a
# seeded shuffle, init normal(0, 0.1)), same evaluation (test RMSE and MAE after every epoch), same
# outputs (params as .npy and the metrics as JSON). Start to end like the CLI: read the files, map ids,
# train, evaluate, write. One BLAS thread (set before numpy is imported).
#   python3 bench/e2e/mf_biased_numpy.py TRAIN TEST OUT_DIR
import os
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')
import json
import sys

import numpy as np
import scipy.sparse as sp

D, LAMBDA, LR, B1, B2, EPS, EPOCHS, BATCH, SEED = 32, 0.12, 0.005, 0.9, 0.999, 1e-8, 40, 4096, 42


def read(path):
    a = np.loadtxt(path, dtype=np.int64, usecols=(0, 1, 2))
    return a[:, 0], a[:, 1], a[:, 2].astype(np.float32)


def main(train_path, test_path, out):
    u_raw, i_raw, r = read(train_path)
    tu_raw, ti_raw, tr = read(test_path)
    users, u = np.unique(u_raw, return_inverse=True)
    items, i = np.unique(i_raw, return_inverse=True)
    # test tuples whose user or item never trained score with the trained biases only (as recc: unseen rows are the init)
    tu = np.searchsorted(users, tu_raw)
    ti = np.searchsorted(items, ti_raw)
    known = (tu < len(users)) & (users[np.minimum(tu, len(users) - 1)] == tu_raw) & (ti < len(items)) & (items[np.minimum(ti, len(items) - 1)] == ti_raw)
    tu, ti, tr = tu[known], ti[known], tr[known]
    rng = np.random.default_rng(SEED)
    params = {
        'U': rng.normal(0, 0.1, (len(users), D)).astype(np.float32),
        'V': rng.normal(0, 0.1, (len(items), D)).astype(np.float32),
        'bu': np.zeros(len(users), np.float32),
        'bi': np.zeros(len(items), np.float32),
        'mu': np.full(1, 3.5, np.float32),
    }
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    n = len(r)
    t = 0
    history = []

    def adam(name, rows, g):
        p, mk, vk = params[name], m[name], v[name]
        c1, c2 = 1 - B1 ** t, 1 - B2 ** t
        mk[rows] = B1 * mk[rows] + (1 - B1) * g
        vk[rows] = B2 * vk[rows] + (1 - B2) * g * g
        p[rows] -= LR * (mk[rows] / c1) / (np.sqrt(vk[rows] / c2) + EPS)

    for epoch in range(EPOCHS):
        order = rng.permutation(n)
        for s in range(0, n, BATCH):
            b = order[s:s + BATCH]
            bu, bi, br = u[b], i[b], r[b]
            nb = len(b)
            U, V = params['U'], params['V']
            Ub, Vb = U[bu], V[bi]
            e = np.einsum('ij,ij->i', Ub, Vb) + params['bu'][bu] + params['bi'][bi] + params['mu'][0] - br
            ds = (2.0 / nb) * e  # ∂mse/∂score per tuple
            t += 1
            ru, inv_u = np.unique(bu, return_inverse=True)
            ri, inv_i = np.unique(bi, return_inverse=True)
            # per-row sums of the per-tuple gradients: a 0/1 CSR matrix (touched rows × batch) times them
            ones, cols = np.ones(nb, np.float32), np.arange(nb)
            Su = sp.csr_matrix((ones, (inv_u, cols)), shape=(len(ru), nb))
            Si = sp.csr_matrix((ones, (inv_i, cols)), shape=(len(ri), nb))
            gU = Su @ (ds[:, None] * Vb + (2.0 * LAMBDA / nb) * Ub)
            gV = Si @ (ds[:, None] * Ub + (2.0 * LAMBDA / nb) * Vb)
            gbu = np.bincount(inv_u, weights=ds, minlength=len(ru)).astype(np.float32)
            gbi = np.bincount(inv_i, weights=ds, minlength=len(ri)).astype(np.float32)
            adam('U', ru, gU)
            adam('V', ri, gV)
            adam('bu', ru, gbu)
            adam('bi', ri, gbi)
            adam('mu', np.zeros(1, np.int64), np.float32(ds.sum()).reshape(1))
        pred = np.einsum('ij,ij->i', params['U'][tu], params['V'][ti]) + params['bu'][tu] + params['bi'][ti] + params['mu'][0]
        err = pred - tr
        history.append({'epoch': epoch + 1, 'rmse': float(np.sqrt(np.mean(err * err))), 'mae': float(np.mean(np.abs(err)))})
    os.makedirs(os.path.join(out, 'params'), exist_ok=True)
    for k, p in params.items():
        np.save(os.path.join(out, 'params', f'{k}.npy'), p)
    with open(os.path.join(out, 'metrics.json'), 'w') as f:
        json.dump({'final': history[-1], 'history': history}, f)
    print(f"numpy mf_biased: {t} steps · test rmse {history[-1]['rmse']:.4f} · mae {history[-1]['mae']:.4f}")


if __name__ == '__main__':
    main(*sys.argv[1:4])
