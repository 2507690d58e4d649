#!/usr/bin/env python3
"""bench/peers/reference.py: hand-written numpy + scipy.sparse training of four recc examples, the peer
that bench/peers/peers.ts times recc against. Each objective and its gradient is derived by hand below
(not generated from recc), in float32 like recc, with the example's optimizer (Adam with bias
correction; "lazy" at the rows a mini-batch touches where recc updates lazily), on one BLAS thread.

  python3 bench/peers/reference.py --model mf-gramian --data DIR --dim 32 --steps 5 [--replay DIR]

--data: a shape's tuples as written by peers.ts (users.npy, items.npy int32; ratings.npy float32;
shape.json). --replay: what a recc run recorded (bench/peers/recc-run.ts --record): the params recc
started from, every mini-batch's tuples and sampled negatives, and meta.json (sizes, consts,
optimizer), which is checked against this file's own copy of each model: a changed example stops the
run instead of comparing different objectives. Without --replay, params come from each model's own
init distributions and batches from numpy's generator. Prints one JSON line: per step the loss of
every term (evaluated at the params before that step's update, as recc logs them), CPU seconds
(time.process_time) and wall seconds (time.perf_counter); peak RSS (resource.getrusage).
Losses are summed in float64 (recc reduces scalars on the host in float64 too); all arrays are float32.
A mini-batch step is timed with numpy's own batch draw included (a permutation per epoch, a gather,
uniform negatives): a numpy training run pays it; under --replay recc's draw then replaces it.
"""
import os

# one BLAS thread, set before numpy loads its BLAS
for _var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS', 'NUMEXPR_NUM_THREADS'):
    os.environ[_var] = '1'

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.special import expit  # noqa: E402

F32 = np.float32
ADAM = {'kind': 'adam', 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8}  # recc's (and Kingma & Ba's) defaults


def normal(mean, std):
    return ('normal', mean, std)


def value(v):
    return ('value', v)


# Each example as written in examples/<name>.recmodel. `batch` is the bench's (BPR: 4096, where the
# example trains with 1024); `relation` is the one the terms range over (`likes` = ratings ≥ 4).
SPECS = {
    'mf-gramian': {
        'relation': 'ratings', 'batch': 'full', 'terms': ['omse', 'l2', 'gram'],
        'consts': {'l2w': 0.1, 'gramw': 0.05}, 'optimizer': {**ADAM, 'lr': 0.01},
        'init': {'U': (('user', 'd'), normal(0, 0.1)), 'V': (('item', 'd'), normal(0, 0.1))},
    },
    'enmf': {
        'relation': 'likes', 'batch': 'full', 'terms': ['whole', 'l2'],
        'consts': {'c_pos': 1, 'c_neg': 0.05, 'lambda': 0.01}, 'optimizer': {**ADAM, 'lr': 0.02},
        'init': {'P': (('user', 'd'), normal(0, 0.01)), 'Q': (('item', 'd'), normal(0, 0.01)), 'h': (('d',), value(1))},
    },
    'bpr': {
        'relation': 'likes', 'batch': 4096, 'terms': ['rank', 'l2'],
        'consts': {'lambda': 0.001}, 'optimizer': {**ADAM, 'lr': 0.005},
        'init': {'U': (('user', 'd'), normal(0, 0.1)), 'V': (('item', 'd'), normal(0, 0.1))},
    },
    'mf-biased': {
        'relation': 'ratings', 'batch': 4096, 'terms': ['mse', 'l2'],
        'consts': {'lambda': 0.12}, 'optimizer': {**ADAM, 'lr': 0.005},
        'init': {'U': (('user', 'd'), normal(0, 0.1)), 'V': (('item', 'd'), normal(0, 0.1)),
                 'bu': (('user',), value(0)), 'bi': (('item',), value(0)), 'mu': ((), value(3.5))},
    },
}


def f64sum(a):
    return float(np.sum(a, dtype=np.float64))


def csr_by(rows, cols, n_rows, n_cols):
    """The sparsity pattern of tuples (rows[t], cols[t]) as CSR, with the permutation that puts the
    tuples in CSR order: a per-tuple vector x becomes the matrix with data x[order]. Duplicates kept."""
    order = np.argsort(rows, kind='stable').astype(np.int32)
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    indices = np.ascontiguousarray(cols[order])

    def matrix(x):
        return sp.csr_matrix((x[order], indices, indptr), shape=(n_rows, n_cols), copy=False)
    return matrix


def rowdot(A, ia, B, ib, chunk=1 << 12):
    """out[t] = A[ia[t]] · B[ib[t]] for every tuple, a chunk of tuples at a time into two buffers
    allocated once: the gathered rows stay in cache instead of two N × d arrays in memory, and no
    chunk allocates (a fresh 512 KB temporary per chunk costs page faults: 10× slower at d = 32)."""
    n = len(ia)
    out = np.empty(n, dtype=F32)
    ga = np.empty((min(chunk, n), A.shape[1]), dtype=F32)
    gb = np.empty_like(ga)
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        x, y = ga[:b - a], gb[:b - a]
        np.take(A, ia[a:b], axis=0, out=x)
        np.take(B, ib[a:b], axis=0, out=y)
        np.einsum('td,td->t', x, y, out=out[a:b])
    return out


class RowScatter:
    """Σ of per-tuple rows into the distinct ids they belong to: `rows` (ascending distinct ids of a
    domain of n) and S (|rows| × B, S[r, t] = 1 where ids[t] = rows[r]) as CSR, so that S @ X sums X's
    rows by id. Built by scipy's COO → CSR counting sort over the whole domain (no comparison sort),
    then its empty rows dropped from indptr."""

    def __init__(self, ids, n):
        B = len(ids)
        full = sp.csr_matrix((np.ones(B, dtype=F32), (ids, np.arange(B, dtype=np.int32))), shape=(n, B))
        self.rows = np.flatnonzero(np.diff(full.indptr)).astype(np.int32)
        indptr = np.append(full.indptr[self.rows], B)
        self.S = sp.csr_matrix((full.data, full.indices, indptr), shape=(len(self.rows), B), copy=False)

    def __call__(self, x):
        return self.S @ x


class MfGramian:
    """examples/mf-gramian.recmodel, full batch over the N ratings (u_t, i_t, r_t), U: |U|×d, V: |I|×d.
      e_t  = r_t − U_u·V_i
      omse = (1/N) Σ_t e_t²                                   ∂U = −(2/N) E V,   ∂V = −(2/N) Eᵀ U
      l2   = l2w (Σ U² / |U| + Σ V² / |I|)                     ∂U = 2 l2w U / |U|, ∂V = 2 l2w V / |I|
      gram = gramw · mean_{u,i} (U_u·V_i)² = gramw/(|U||I|) Σ_{kl} (UᵀU)_{kl} (VᵀV)_{kl}
                                                              ∂U = 2 gramw/(|U||I|) U (VᵀV), ∂V likewise
    with E the |U|×|I| CSR matrix holding e_t at (u_t, i_t) (scipy SpMM); never a dense |U|×|I|."""

    def __init__(self, data, n_users, n_items, consts):
        self.u, self.i, self.r = data['users'], data['items'], data['ratings']
        self.nU, self.nI, self.N = n_users, n_items, len(self.u)
        self.by_user = csr_by(self.u, self.i, n_users, n_items)
        self.by_item = csr_by(self.i, self.u, n_items, n_users)  # Eᵀ, the same tuples by item
        self.l2w, self.gramw = consts['l2w'], consts['gramw']

    def step(self, p, batch):
        U, V = p['U'], p['V']
        e = self.r - rowdot(U, self.u, V, self.i)
        GU, GV = U.T @ U, V.T @ V
        w = self.gramw / (self.nU * self.nI)
        terms = {
            'omse': f64sum(e * e) / self.N,
            'l2': self.l2w * (f64sum(U * U) / self.nU + f64sum(V * V) / self.nI),
            'gram': w * f64sum(GU * GV),
        }
        dU = (-2 / self.N) * (self.by_user(e) @ V) + (2 * self.l2w / self.nU) * U + (2 * w) * (U @ GV)
        dV = (-2 / self.N) * (self.by_item(e) @ U) + (2 * self.l2w / self.nI) * V + (2 * w) * (V @ GU)
        return terms, {'U': (None, dU), 'V': (None, dV)}


class Enmf:
    """examples/enmf.recmodel, full batch. ŝ(u,i) = Σ_k P_uk Q_ik h_k; y = 1, c = c_pos on liked pairs
    L (the set of distinct (u, i) with rating ≥ 4), y = 0, c = c_neg elsewhere:
      whole = (1/|U|) Σ_{u,i} c (y − ŝ)²
            = (1/|U|) [c_neg Σ_{u,i} ŝ² + Σ_{(u,i)∈L} (c_pos (1 − ŝ)² − c_neg ŝ²)]     (split at the default)
      Σ_{u,i} ŝ² = Σ_{kl} (PᵀP)_{kl} (QᵀQ)_{kl} h_k h_l                              (Gramians, O((|U|+|I|)d²))
      with w = ∂/∂ŝ of the correction = −2 c_pos (1 − ŝ) − 2 c_neg ŝ on L, W its |U|×|I| CSR matrix:
      ∂P = (1/|U|) [2 c_neg P (QᵀQ ∘ hhᵀ) + (W Q) ∘ h]
      ∂Q = (1/|U|) [2 c_neg Q (PᵀP ∘ hhᵀ) + (Wᵀ P) ∘ h]
      ∂h = (1/|U|) [2 c_neg ((PᵀP ∘ QᵀQ) h) + Σ_u P_u ∘ (W Q)_u]       (reuses W Q from ∂P)
      l2 = λ (Σ P² + Σ Q²) / |U|;  ∂P = 2λ P / |U|, ∂Q = 2λ Q / |U|"""

    def __init__(self, data, n_users, n_items, consts):
        liked = data['ratings'] >= 4
        key = np.unique(data['users'][liked].astype(np.int64) * n_items + data['items'][liked])  # set membership
        self.u, self.i = (key // n_items).astype(np.int32), (key % n_items).astype(np.int32)
        self.nU, self.nI = n_users, n_items
        self.by_user = csr_by(self.u, self.i, n_users, n_items)
        self.by_item = csr_by(self.i, self.u, n_items, n_users)
        self.c_pos, self.c_neg, self.lam = consts['c_pos'], consts['c_neg'], consts['lambda']

    def step(self, p, batch):
        P, Q, h = p['P'], p['Q'], p['h']
        GP, GQ, H = P.T @ P, Q.T @ Q, np.outer(h, h)
        s = rowdot(P, self.u, Q * h, self.i)
        all_pairs = f64sum(GP * GQ * H)
        correction = f64sum(self.c_pos * (1 - s) ** 2 - self.c_neg * s * s)
        terms = {
            'whole': (self.c_neg * all_pairs + correction) / self.nU,
            'l2': self.lam * (f64sum(P * P) + f64sum(Q * Q)) / self.nU,
        }
        w = -2 * self.c_pos * (1 - s) - 2 * self.c_neg * s
        WQ = self.by_user(w) @ Q
        WtP = self.by_item(w) @ P
        k, reg = 1 / self.nU, 2 * self.lam / self.nU
        dP = k * ((2 * self.c_neg) * (P @ (GQ * H)) + WQ * h) + reg * P
        dQ = k * ((2 * self.c_neg) * (Q @ (GP * H)) + WtP * h) + reg * Q
        dh = k * ((2 * self.c_neg) * ((GP * GQ) @ h) + np.sum(P * WQ, axis=0))
        return terms, {'P': (None, dP), 'Q': (None, dQ), 'h': (None, dh)}


class Bpr:
    """examples/bpr.recmodel on a batch of B liked tuples (u_t, i_t) with one uniform negative j_t each:
      x_t  = s(u,j) − s(u,i) = U_u · (V_j − V_i)
      rank = (1/B) Σ_t softplus(x_t)                 ∂x_t = σ(x_t) / B
             ∂U_u += ∂x_t (V_j − V_i),  ∂V_i −= ∂x_t U_u,  ∂V_j += ∂x_t U_u
      l2   = (λ/B) Σ_t (U_u·U_u + V_i·V_i)           ∂U_u += 2λ U_u / B,  ∂V_i += 2λ V_i / B
    The gradient lives on the batch's users (U) and its positives and negatives (V): per-tuple rows
    summed by id with a CSR scatter."""

    def __init__(self, data, n_users, n_items, consts):
        self.lam = consts['lambda']

    def step(self, p, batch):
        U, V = p['U'], p['V']
        u, i, j = batch['user'], batch['item'], batch['j']
        B = len(u)
        Uu, Vi, Vj = U[u], V[i], V[j]
        dV_ji = Vj - Vi
        x = np.einsum('td,td->t', Uu, dV_ji)
        terms = {
            'rank': f64sum(np.logaddexp(F32(0), x)) / B,
            'l2': self.lam * (f64sum(Uu * Uu) + f64sum(Vi * Vi)) / B,
        }
        g = (expit(x) / B)[:, None]
        reg = 2 * self.lam / B
        su, sv = RowScatter(u, len(U)), RowScatter(np.concatenate([i, j]), len(V))
        dU = su(g * dV_ji + reg * Uu)
        dV = sv(np.concatenate([reg * Vi - g * Uu, g * Uu]))
        return terms, {'U': (su.rows, dU), 'V': (sv.rows, dV)}


class MfBiased:
    """examples/mf-biased.recmodel on a batch of B ratings (u_t, i_t, r_t):
      e_t = r_t − (U_u·V_i + bu_u + bi_i + μ)
      mse = (1/B) Σ_t e_t²               ∂U_u += −2 e_t V_i / B, ∂V_i += −2 e_t U_u / B,
                                          ∂bu_u += −2 e_t / B, ∂bi_i += −2 e_t / B, ∂μ = −2 Σ_t e_t / B
      l2  = (λ/B) Σ_t (U_u·U_u + V_i·V_i) ∂U_u += 2λ U_u / B,   ∂V_i += 2λ V_i / B
    Rows of U, bu at the batch's users and of V, bi at its items, summed by id (CSR scatter)."""

    def __init__(self, data, n_users, n_items, consts):
        self.lam = consts['lambda']

    def step(self, p, batch):
        U, V, bu, bi, mu = p['U'], p['V'], p['bu'], p['bi'], p['mu']
        u, i, r = batch['user'], batch['item'], batch['rating']
        B = len(u)
        Uu, Vi = U[u], V[i]
        e = r - (np.einsum('td,td->t', Uu, Vi) + bu[u] + bi[i] + mu)
        terms = {'mse': f64sum(e * e) / B, 'l2': self.lam * (f64sum(Uu * Uu) + f64sum(Vi * Vi)) / B}
        g = (-2 / B) * e
        reg = 2 * self.lam / B
        su, si = RowScatter(u, len(U)), RowScatter(i, len(V))
        grads = {
            'U': (su.rows, su(g[:, None] * Vi + reg * Uu)),
            'V': (si.rows, si(g[:, None] * Uu + reg * Vi)),
            'bu': (su.rows, su(g)),
            'bi': (si.rows, si(g)),
            'mu': (None, np.asarray(np.sum(g, dtype=F32), dtype=F32)),
        }
        return terms, grads


MODELS = {'mf-gramian': MfGramian, 'enmf': Enmf, 'bpr': Bpr, 'mf-biased': MfBiased}


class Adam:
    """m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − η (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε), t the global
    step. A gradient given at rows R (lazy, as recc's row-sparse updates) updates those rows of θ, m
    and v only; a dense one (rows None) updates everything. A param recc updates densely gets its
    row gradient scattered into zeros first, so the reference follows recc's semantics either way."""

    def __init__(self, opt, params, lazy):
        self.lr, self.b1, self.b2, self.eps = opt['lr'], opt['beta1'], opt['beta2'], opt['eps']
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.lazy, self.t = lazy, 0

    def update(self, params, grads):
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for name, (rows, g) in grads.items():
            p, m, v = params[name], self.m[name], self.v[name]
            if rows is not None and name not in self.lazy:
                dense = np.zeros_like(p)
                dense[rows] = g
                rows, g = None, dense
            if rows is None:
                m *= self.b1
                m += (1 - self.b1) * g
                v *= self.b2
                v += (1 - self.b2) * (g * g)
                p -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)
            else:
                mr = self.b1 * m[rows] + (1 - self.b1) * g
                vr = self.b2 * v[rows] + (1 - self.b2) * (g * g)
                m[rows], v[rows] = mr, vr
                p[rows] -= (self.lr / c1) * mr / (np.sqrt(vr / c2) + self.eps)


def load_npy(path):
    return np.load(path, allow_pickle=False)


def init_params(spec, dim, n_users, n_items, seed):
    rng = np.random.default_rng(seed)
    sizes = {'user': n_users, 'item': n_items, 'd': dim}
    out = {}
    for name, (axes, (kind, *args)) in spec['init'].items():
        shape = tuple(sizes[a] for a in axes)
        out[name] = (rng.normal(args[0], args[1], size=shape) if kind == 'normal' else np.full(shape, args[0])).astype(F32)
    return out


def check_meta(model, spec, meta, dim):
    """The recorded run must be the objective written here: same consts, optimizer, terms, batch."""
    problems = []
    for k, v in spec['consts'].items():
        if meta['consts'].get(k) != v:
            problems.append(f"const {k} is {meta['consts'].get(k)} in the model, {v} here")
    extra = set(meta['consts']) - set(spec['consts'])
    if extra:
        problems.append(f"consts {sorted(extra)} are not in this reference")
    for k, v in spec['optimizer'].items():
        if meta['optimizer'].get(k) != v:
            problems.append(f"optimizer {k} is {meta['optimizer'].get(k)} in the model, {v} here")
    if meta['schedule'].get('kind') != 'constant':
        problems.append(f"learning-rate schedule {meta['schedule']} (this reference has a constant rate)")
    if meta['terms'] != spec['terms']:
        problems.append(f"terms {meta['terms']} in the model, {spec['terms']} here")
    if meta['primary'] != spec['relation']:
        problems.append(f"batches come from `{meta['primary']}`, here from `{spec['relation']}`")
    full = spec['batch'] == 'full'
    if (meta['batch'] < meta['tuples']) == full or (not full and meta['batch'] != spec['batch']):
        problems.append(f"batch {meta['batch']} of {meta['tuples']} tuples, here {spec['batch']}")
    negatives = [{'file': 'sampled-item', 'domain': 'item', 'dist': 'uniform', 'alpha': 1}] if model == 'bpr' else []
    if [(x['domain'], x['dist']) for x in meta['sampled']] != [(x['domain'], x['dist']) for x in negatives]:
        problems.append(f"sampled columns {meta['sampled']} in the model, {negatives} here")
    if meta['dim'] != dim:
        problems.append(f"dim {meta['dim']} recorded, {dim} asked")
    if problems:
        sys.exit(f"reference.py: examples/{model}.recmodel is not the objective written here: " + '; '.join(problems))


class OwnBatches:
    """numpy's own mini-batches of a relation: a permutation per epoch, cut in order; BPR's negatives
    uniform over the items."""

    def __init__(self, rel, size, n_items, negatives, seed):
        self.rel, self.size, self.n_items, self.negatives = rel, size, n_items, negatives
        self.rng = np.random.default_rng(seed)
        self.order, self.pos = self.rng.permutation(len(rel['user'])), 0

    def next(self):
        if self.pos >= len(self.order):
            self.order, self.pos = self.rng.permutation(len(self.order)), 0
        rows = self.order[self.pos:self.pos + self.size]
        self.pos += len(rows)
        out = {k: a[rows] for k, a in self.rel.items()}
        if self.negatives:
            out['j'] = self.rng.integers(0, self.n_items, size=len(rows), dtype=np.int32)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', required=True, choices=sorted(SPECS))
    ap.add_argument('--data', required=True)
    ap.add_argument('--dim', type=int, default=32)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--replay')
    ap.add_argument('--seed', type=int, default=42)
    args = ap.parse_args()
    spec = SPECS[args.model]

    c0, w0 = time.process_time(), time.perf_counter()
    shape = json.load(open(os.path.join(args.data, 'shape.json')))
    n_users, n_items = shape['nUsers'], shape['nItems']
    data = {k: load_npy(os.path.join(args.data, f'{k}.npy')) for k in ('users', 'items', 'ratings')}
    data['ratings'] = data['ratings'].astype(F32)
    if args.replay:
        meta = json.load(open(os.path.join(args.replay, 'meta.json')))
        check_meta(args.model, spec, meta, args.dim)
        params = {name: load_npy(os.path.join(args.replay, 'params', f'{name}.npy')).astype(F32) for name in spec['init']}
        lazy = set(meta['lazyParams'])
    else:
        params = init_params(spec, args.dim, n_users, n_items, args.seed)
        lazy = set(spec['init']) - {'mu'} if spec['batch'] != 'full' else set()
    model = MODELS[args.model](data, n_users, n_items, spec['consts'])
    opt = Adam(spec['optimizer'], params, lazy)

    batches = replay = offsets = None
    if spec['batch'] != 'full':
        keep = data['ratings'] >= 4 if spec['relation'] == 'likes' else np.ones(len(data['users']), dtype=bool)
        rel = {'user': data['users'][keep], 'item': data['items'][keep], 'rating': data['ratings'][keep]}
        batches = OwnBatches(rel, spec['batch'], n_items, args.model == 'bpr', args.seed)
        if args.replay:
            offsets = load_npy(os.path.join(args.replay, 'batch', 'offsets.npy'))
            files = {'user': 'user', 'item': 'item', 'j': 'sampled-item'} if args.model == 'bpr' else {'user': 'user', 'item': 'item', 'rating': 'rating'}
            replay = {c: load_npy(os.path.join(args.replay, 'batch', f'{f}.npy')) for c, f in files.items()}
            if len(offsets) - 1 < args.steps:
                sys.exit(f'reference.py: the replay holds {len(offsets) - 1} batches, {args.steps} steps asked')
    setup = {'cpu': time.process_time() - c0, 'wall': time.perf_counter() - w0}

    steps = []
    for k in range(args.steps):
        c0, w0 = time.process_time(), time.perf_counter()
        batch = None
        if batches:
            batch = batches.next()
            if replay:
                a, b = offsets[k], offsets[k + 1]
                batch = {c: col[a:b] for c, col in replay.items()}
        terms, grads = model.step(params, batch)
        finite = all(np.isfinite(v) for v in terms.values())
        if finite:  # as recc: a step whose loss is not finite is logged, not applied, and ends the run
            opt.update(params, grads)
        steps.append({'step': k + 1, 'terms': terms, 'total': sum(terms.values()),
                      'cpu': time.process_time() - c0, 'wall': time.perf_counter() - w0})
        if not finite:
            break
    n_rel = len(model.u) if spec['batch'] == 'full' else len(batches.rel['user'])
    out = {
        'steps': steps,
        'stepsPerEpoch': 1 if spec['batch'] == 'full' else -(-n_rel // spec['batch']),
        'tuples': n_rel,
        'setup': setup,
        'maxRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'versions': {'python': sys.version.split()[0], 'numpy': np.__version__, 'scipy': scipy.__version__},
    }
    print(json.dumps(out))


if __name__ == '__main__':
    main()
