# recc_torch: the hand-written runtime of a model exported by `recc export --target torch`.
# It is the same for every model and reads nothing but spec.json, the .npy files beside it and the
# generated model.py. It holds: the helpers the generated terms call (rt.*), the step data (batches,
# samplers, per-rank shards), recc's optimizers and schedules, the evaluation metrics, the float64
# check against recc's reference interpreter, and the torch.distributed (DDP) training loop.
# Works with PyTorch 1.13 (Debian's python3-torch) and 2.x: no API newer than 1.13 is used.
import datetime
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

DTYPE = torch.float32
DEVICE = torch.device("cpu")
WORLD = 1
RANK = 0


# ---------------------------------------------------------------------------------------------
# Helpers of the generated code

def C(x):
    """A constant (or a size) as a 0-d tensor."""
    return torch.tensor(float(x), dtype=DTYPE, device=DEVICE)


def ar(S, R, n):
    """The positions a domain index takes: R's restriction (a shard, a block of users) or all."""
    r = R.get(n)
    return r if r is not None else torch.arange(S[n], device=DEVICE)


def cnt(S, R, n):
    r = R.get(n)
    return int(r.shape[0]) if r is not None else S[n]


def rx(x, axis, R, n):
    """x restricted along `axis` to R's positions of domain n (x itself when unrestricted)."""
    r = R.get(n)
    if r is None:
        return x
    if r.shape[0] > 0 and int(r[-1]) - int(r[0]) + 1 == r.shape[0]:
        return x.narrow(axis, int(r[0]), int(r.shape[0]))
    return x.index_select(axis, r)


def gather(x, positions, ids):
    """x read at several axes with ids over the same tuple index: that index first, the rest in order."""
    rest = [a for a in range(x.dim()) if a not in positions]
    y = x.permute(*positions, *rest)
    return y[tuple(ids)]


def segsum(src, keys, n):
    """Σ of src's rows per key: out[k] = Σ_{r: keys[r] = k} src[r] (index_add; differentiable)."""
    out = torch.zeros((n,) + tuple(src.shape[1:]), dtype=src.dtype, device=src.device)
    return out.index_add(0, keys, src)


def extremum(x, dims, is_max):
    """max/min over dims; 0 over an empty space (as recc's reduce)."""
    if x.numel() == 0:
        shape = [s for a, s in enumerate(x.shape) if a not in dims]
        return torch.zeros(shape, dtype=x.dtype, device=x.device)
    return torch.amax(x, dim=dims) if is_max else torch.amin(x, dim=dims)


def softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), as recc computes it."""
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))


def logsigmoid(x):
    return -softplus(-x)


def step(x):
    return (x > 0).to(x.dtype)


def allsum(x):
    """A partial sum made global: the sum over ranks forward, this rank's partial backward.
    Each rank's gradient then flows through its own partial only, and the ranks' gradients add up
    to the gradient of the single-process sum (see shard.ts in recc)."""
    if WORLD == 1:
        return x
    y = x.detach().clone()
    dist.all_reduce(y)
    return x + (y - x.detach())


def rep(x):
    """A param read on every rank: its value, with 1/W of its gradient on each rank (they add up to one)."""
    if WORLD == 1:
        return x
    return x / WORLD + (x - x / WORLD).detach()


def normal(shape, mean, std, gen):
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * std + mean).to(DTYPE)


def uniform(shape, lo, hi, gen):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).to(DTYPE)


def full(shape, value):
    return torch.full(shape, value, dtype=DTYPE)


# ---------------------------------------------------------------------------------------------
# Data: the relations recc loaded, with its id mapping and split, as .npy

class Relation:
    def __init__(self, name, size, ids, values, entries_of=None):
        self.name, self.size, self.ids, self.values, self.entries_of = name, size, ids, values, entries_of

    def rows(self, idx):
        """The tuples at positions idx (a LongTensor)."""
        return Relation(self.name, int(idx.shape[0]), {k: v[idx] for k, v in self.ids.items()}, {k: v[idx] for k, v in self.values.items()}, self.entries_of)


def load_side(pkg, side, spec):
    out = {}
    for name, r in spec["data"][side].items():
        ids = {py: torch.from_numpy(np.load(os.path.join(pkg, f)).astype(np.int64)).to(DEVICE) for py, f in r["ids"].items()}
        vals = {py: torch.from_numpy(np.load(os.path.join(pkg, f)).astype(np.float64)).to(DTYPE).to(DEVICE) for py, f in r["values"].items()}
        out[name] = Relation(name, r["size"], ids, vals, r.get("entries_of"))
    return out


def entries_for(rel_name, side):
    return [e for e in side.values() if e.entries_of is not None and e.entries_of["relation"] == rel_name]


def select_rows(side, rel, idx):
    """Rows idx of relation rel and, for a relation with a sparse column, the entries of those rows
    (rows renumbered 0..len(idx)-1, in idx's order)."""
    out = {rel.name: rel.rows(idx)}
    for e in entries_for(rel.name, side):
        row_py = e.entries_of["row"]
        where = torch.full((rel.size,), -1, dtype=torch.long, device=DEVICE)
        where[idx] = torch.arange(idx.shape[0], device=DEVICE)
        new_row = where[e.ids[row_py]]
        keep = torch.nonzero(new_row >= 0).flatten()
        # entries ordered by their new row (stable), as recc's selectEntries
        order = keep[torch.argsort(new_row[keep] * (e.size + 1) + keep)]
        sub = e.rows(order)
        sub.ids[row_py] = new_row[order]
        out[e.name] = sub
    return out


# ---------------------------------------------------------------------------------------------
# Samplers: uniform, popularity^alpha (log-Q), sample sets, in-batch, exclusion of positives

class Sampler:
    def __init__(self, s, spec, train, sizes):
        self.s = s
        n = sizes[s["py_domain"]]
        self.n = n
        if s["dist"] == "uniform" or s["alpha"] == 0:
            w = torch.ones(n, dtype=torch.float64)
        else:
            src = train[s["source"]]
            col = spec["data"]["domain_cols"][s["source"]].get(s["domain"]) if s.get("sourceCol") is None else spec["data"]["cols"][s["source"]][s["sourceCol"]]
            counts = torch.bincount(src.ids[col].cpu(), minlength=n).to(torch.float64)
            w = torch.where(counts > 0, counts ** s["alpha"], torch.zeros_like(counts))
        self.weights = w
        self.logq = torch.log(w / w.sum())
        self.exclude = None
        ex = s.get("exclude")
        if ex is not None:
            rel = train[ex["rel"]]
            cols = spec["data"]["cols"][ex["rel"]]
            owners = sizes[spec["spaces"][ex["owner"]]["size"]]
            key = rel.ids[cols[ex["keyCol"]]].cpu() * n + rel.ids[cols[ex["col"]]].cpu()
            key = torch.unique(key)
            q = torch.exp(self.logq)
            P = torch.zeros(owners, dtype=torch.float64).index_add(0, key // n, q[key % n])
            R = ex["retries"]
            allowed = sum(P ** r for r in range(R + 1))
            self.exclude = (key, torch.log(allowed), R * torch.log(P), R)

    def draw(self, k, gen):
        if k == 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.multinomial(self.weights, k, replacement=True, generator=gen)

    def add_to(self, rels, spec, gen):
        s = self.s
        if s["kind"] == "per-tuple":
            rel = rels.get(s["rel"])
            if rel is None:
                return
            j = self.draw(rel.size, gen)
            logq = self.logq[j]
            if self.exclude is not None:
                key, log_allowed, log_excluded, R = self.exclude
                owner = rel.ids[spec["data"]["cols"][s["rel"]][s["exclude"]["tupleCol"]]].cpu()
                hit = lambda jj: torch.isin(owner * self.n + jj, key) if hasattr(torch, "isin") else torch.tensor(np.isin((owner * self.n + jj).numpy(), key.numpy()))
                excluded = hit(j)
                for _ in range(R):
                    if not bool(excluded.any()):
                        break
                    redraw = self.draw(rel.size, gen)
                    j = torch.where(excluded, redraw, j)
                    excluded = hit(j)
                logq = self.logq[j] + torch.where(excluded, log_excluded[owner], log_allowed[owner])
            ids = dict(rel.ids)
            vals = dict(rel.values)
            ids[s["py_ids"]] = j.to(DEVICE)
            vals[s["py_logq"]] = logq.to(DTYPE).to(DEVICE)
            rels[s["rel"]] = Relation(rel.name, rel.size, ids, vals, rel.entries_of)
        else:
            if s["dist"] == "inbatch":
                src = rels[s["source"]]
                j = src.ids[spec["data"]["cols"][s["source"]][s["sourceCol"]]].cpu()
            else:
                j = self.draw(s["count"], gen)
            rels[s["space"]] = Relation(s["space"], int(j.shape[0]), {s["py_ids"]: j.to(DEVICE)}, {s["py_logq"]: self.logq[j].to(DTYPE).to(DEVICE)})


# ---------------------------------------------------------------------------------------------
# The environment of one step (as recc's runtime/exec/env.ts): sizes, tensors, ids

def make_env(spec, rels, full, params, tables, shard=None):
    """T, I, S for relations `rels` (a step's batch and samples over the full relations `full`).
    With shard = (rank, world): every relation's tuples (not sample sets) are cut into `world`
    contiguous slices and this rank keeps its own (with its rows' entries); sizes of batches and
    totals stay global, so a mean divides by the whole batch."""
    S = dict(spec["data"]["domains"])
    for sp in spec["spaces"].values():
        if sp["kind"] == "dim":
            S[sp["size"]] = sp["dim"]
    local = rels
    if shard is not None:
        rank, world = shard
        local = dict(rels)
        for name, r in rels.items():
            sp = spec["spaces"].get(name)
            if r.entries_of is not None or sp is None or sp["kind"] != "relation":
                continue
            lo, hi = r.size * rank // world, r.size * (rank + 1) // world
            local.update(select_rows(rels, r, torch.arange(lo, hi, device=DEVICE)))
    for name, sp in spec["spaces"].items():
        if sp["kind"] in ("dim", "domain"):
            continue
        r = local.get(name)
        whole = rels.get(name)
        cur = r.size if r is not None else 0
        S[sp["size"]] = cur
        S[sp["batch"]] = whole.size if whole is not None else cur
        f = full.get(name)
        S[sp["total"]] = f.size if f is not None else S[sp["batch"]]
    T = dict(params)
    for k, v in tables.items():
        T[k] = v
    for h, v in HYPERS.items():
        T[h] = C(v)
    I = {}
    for r in local.values():
        T.update(r.values)
        I.update(r.ids)
    return T, I, S


def domain_shards(spec, rank, world):
    SH = {}
    for sp in spec["spaces"].values():
        if sp["kind"] == "domain":
            n = spec["data"]["domains"][sp["size"]]
            SH[sp["size"]] = torch.arange(n * rank // world, n * (rank + 1) // world, device=DEVICE)
    return SH


HYPERS = {}


# ---------------------------------------------------------------------------------------------
# Optimizers and schedules: recc's (runtime/train/optimizer.ts), including its "lazy" row updates:
# a param whose recc gradient is row-sparse updates only the rows with a non-zero gradient

class Optimizer:
    def __init__(self, info, params, lazy):
        self.info, self.params, self.lazy, self.t = info, params, lazy, 0
        self.slots = {k: [torch.zeros_like(p) for _ in range(2 if info["kind"] == "adam" else (0 if info["kind"] == "sgd" and info["momentum"] == 0 else 1))] for k, p in params.items()}

    @torch.no_grad()
    def step(self, lr):
        self.t += 1
        o = self.info
        for k, p in self.params.items():
            g = p.grad
            if g is None:
                continue
            rows = None
            if self.lazy.get(k) and p.dim() >= 1:
                rows = torch.nonzero(g.reshape(g.shape[0], -1).abs().sum(dim=1) > 0).flatten()
            pv, gv = (p.data, g) if rows is None else (p.data[rows], g[rows])
            sl = self.slots[k]
            sv = [s if rows is None else s[rows] for s in sl]
            if o["kind"] == "sgd":
                if sv:
                    sv[0] = o["momentum"] * sv[0] + gv
                    pv = pv - lr * sv[0]
                else:
                    pv = pv - lr * gv
            elif o["kind"] == "adagrad":
                sv[0] = sv[0] + gv * gv
                pv = pv - lr * gv / (torch.sqrt(sv[0]) + o["eps"])
            else:
                b1, b2, eps = o["beta1"], o["beta2"], o["eps"]
                c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
                sv[0] = b1 * sv[0] + (1 - b1) * gv
                sv[1] = b2 * sv[1] + (1 - b2) * gv * gv
                pv = pv - lr * (sv[0] / c1) / (torch.sqrt(sv[1] / c2) + eps)
            if rows is None:
                p.data.copy_(pv)
                for s, v in zip(sl, sv):
                    s.copy_(v)
            else:
                p.data[rows] = pv
                for s, v in zip(sl, sv):
                    s[rows] = v


def learning_rate(opt, schedule, step_):
    if schedule["kind"] == "step":
        return opt["lr"] * schedule["factor"] ** (step_ // schedule["every"])
    if schedule["kind"] == "exponential":
        return opt["lr"] * schedule["factor"] ** step_
    return opt["lr"]


# ---------------------------------------------------------------------------------------------
# Evaluation (recc's runtime/eval: RMSE/MAE on test tuples, logloss/AUC on sparse rows, ranking
# metrics over all items per test user excluding the user's training items)

def evaluate(model, spec, params, train, test, tables):
    metrics = {}
    wanted = spec["evaluate"]["metrics"]
    primary = spec["data"]["primary"]
    t = test.get(primary)
    if t is None or not wanted:
        return metrics
    sc = spec["score"]
    full = dict(train)
    with torch.no_grad():
        sparse = "rows" in sc and entries_for(primary, test)
        def predictions():
            rels = dict(train)
            rels[primary] = t
            for e in entries_for(primary, test):
                rels[e.name] = e
            T, I, S = make_env(spec, rels, full, params, tables)
            return (model.score_rows if sparse else model.score_tuples)(T, I, S, {}, {}).to(torch.float64)
        label_py = spec["data"]["label"]
        for m in wanted:
            name = m["name"]
            if name in ("rmse", "mae"):
                p = predictions()
                y = t.values[label_py].to(torch.float64)
                metrics[name] = float(torch.sqrt(((p - y) ** 2).mean())) if name == "rmse" else float((p - y).abs().mean())
            elif name == "logloss" or (sparse and name == "auc"):
                p = predictions()
                y = t.values[label_py] > 0
                if name == "logloss":
                    pr = torch.clamp(torch.sigmoid(p), 1e-7, 1 - 1e-7)
                    metrics[name] = float(-(torch.where(y, torch.log(pr), torch.log(1 - pr))).mean())
                else:
                    metrics[name] = auc(p[y], p[~y])
        ranking = [m for m in wanted if m["name"] in ("recall", "precision", "ndcg", "hr", "mrr", "auc") and not sparse]
        if ranking:
            metrics.update(ranking_metrics(model, spec, params, train, t, tables, ranking))
    return metrics


def auc(pos, neg):
    if pos.numel() == 0 or neg.numel() == 0:
        return float("nan")
    allv = torch.cat([pos, neg])
    order = torch.argsort(allv)
    ranks = torch.empty_like(allv)
    sv = allv[order]
    # average ranks of ties (1-based)
    uniq, inv, counts = torch.unique_consecutive(sv, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    avg = ends - (counts.to(torch.float64) - 1) / 2
    ranks[order] = avg[inv]
    rp = ranks[: pos.numel()].sum()
    return float((rp - pos.numel() * (pos.numel() + 1) / 2) / (pos.numel() * neg.numel()))


def ranking_metrics(model, spec, params, train, test, tables, ranking):
    pairs = spec["score"]["pairs"]
    ucol, icol = pairs["cols"]
    nu_py, ni_py = pairs["domains"]
    nU, nI = spec["data"]["domains"][nu_py], spec["data"]["domains"][ni_py]
    tr = train[spec["data"]["primary"]]
    T, I, S = make_env(spec, dict(train), train, params, tables)
    ks = sorted(set(m.get("k", 10) for m in ranking))
    sums = {(m["name"], m.get("k", 10)): 0.0 for m in ranking}
    users = 0
    auc_sum, auc_users = 0.0, 0
    tr_key = tr.ids[ucol] * nI + tr.ids[icol]
    te_u, te_i = test.ids[ucol], test.ids[icol]
    block = max(1, 4_000_000 // max(1, nI))
    for u0 in range(0, nU, block):
        u1 = min(nU, u0 + block)
        scores = model.score_pairs(T, I, S, {nu_py: torch.arange(u0, u1, device=DEVICE)}, {}).to(torch.float64)
        scores = torch.nan_to_num(scores, nan=-math.inf)
        excl = torch.zeros((u1 - u0, nI), dtype=torch.bool, device=DEVICE)
        m = (tr.ids[ucol] >= u0) & (tr.ids[ucol] < u1)
        excl[tr.ids[ucol][m] - u0, tr.ids[icol][m]] = True
        rel = torch.zeros((u1 - u0, nI), dtype=torch.bool, device=DEVICE)
        m = (te_u >= u0) & (te_u < u1)
        rel[te_u[m] - u0, te_i[m]] = True
        rel &= ~excl
        n_rel = rel.sum(dim=1)
        n_cand = (~excl).sum(dim=1)
        masked = scores.masked_fill(excl, -math.inf)
        kmax = min(max(ks), nI)
        top = torch.topk(masked, kmax, dim=1).indices
        hits = torch.gather(rel, 1, top)
        for u in range(u1 - u0):
            nr = int(n_rel[u])
            if nr == 0 or int(n_cand[u]) == 0:
                continue
            users += 1
            for (name, k) in sums:
                cand = min(k, int(n_cand[u]))
                h = hits[u, :cand].to(torch.float64)
                disc = 1.0 / torch.log2(torch.arange(2, cand + 2, dtype=torch.float64, device=DEVICE))
                if name == "recall":
                    sums[(name, k)] += float(h.sum()) / nr
                elif name == "precision":
                    sums[(name, k)] += float(h.sum()) / k
                elif name == "ndcg":
                    idcg = float((1.0 / torch.log2(torch.arange(2, min(nr, k) + 2, dtype=torch.float64))).sum())
                    sums[(name, k)] += float((h * disc).sum()) / idcg
                elif name == "hr":
                    sums[(name, k)] += 1.0 if float(h.sum()) > 0 else 0.0
                elif name == "mrr":
                    nz = torch.nonzero(h).flatten()
                    sums[(name, k)] += 1.0 / (int(nz[0]) + 1) if nz.numel() else 0.0
            if any(name == "auc" for (name, _) in sums):
                cand = ~excl[u]
                a = auc(scores[u][cand & rel[u]], scores[u][cand & ~rel[u]])
                if not math.isnan(a):
                    auc_sum += a
                    auc_users += 1
    out = {}
    for (name, k), s in sums.items():
        key = name if name == "auc" and "k" not in [m for m in ranking if m["name"] == "auc"][0] else "%s@%d" % (name, k)
        out[key] = (auc_sum / auc_users if auc_users else float("nan")) if name == "auc" else (s / users if users else float("nan"))
    return out


# ---------------------------------------------------------------------------------------------
# The objective of one step on one rank

class Objective(torch.nn.Module):
    """The model's params; forward gives this rank's objective (for gradients) and the parts of the
    step's whole objective (for the log). With W ranks: local parts sum over this rank's shard,
    global parts hold the whole value (all-reduced partial sums), replicated parts are computed on
    the whole step; the rank's objective local + global + replicated / W, times W (DDP averages
    the ranks' gradients), has the single-process objective's gradient summed over the ranks."""

    def __init__(self, model, spec, params):
        super().__init__()
        self.model, self.spec = model, spec
        self.params = torch.nn.ParameterDict({k: torch.nn.Parameter(v) for k, v in params.items()})

    def forward(self, local_env, full_env, SH):
        P = dict(self.params.items())
        objective = 0.0
        parts = []
        for term in self.spec["terms"]:
            vals = {}
            for kind, fn in term["parts"].items():
                T, I, S = local_env if kind != "replicated" else full_env
                T = dict(T)
                T.update(P)
                vals[kind] = getattr(self.model, fn)(T, I, S, {}, SH if kind != "replicated" else {})
            objective = objective + vals.get("local", 0.0) + vals.get("global", 0.0) + vals.get("replicated", 0.0) / WORLD
            parts.append(vals)
        return objective * WORLD, parts


def term_values(spec, parts):
    """Each term's value on the whole step (the local parts summed over ranks)."""
    local = torch.stack([torch.as_tensor(p.get("local", 0.0), dtype=torch.float64).detach().reshape(()).cpu() for p in parts])
    if WORLD > 1:
        local = local.to(DEVICE)
        dist.all_reduce(local)
        local = local.cpu()
    out = []
    for j, p in enumerate(parts):
        v = float(local[j])
        for kind in ("global", "replicated"):
            if kind in p:
                v += float(p[kind].detach())
        out.append(v)
    return out


# ---------------------------------------------------------------------------------------------
# Entry points

def load(pkg, device, dtype):
    global DEVICE, DTYPE, HYPERS
    DEVICE, DTYPE = torch.device(device), dtype
    sys.path.insert(0, pkg)
    import model  # the generated module
    with open(os.path.join(pkg, "spec.json")) as f:
        spec = json.load(f)
    HYPERS = model.HYPERS
    return model, spec


def check(pkg, env_dir, out):
    """Every term and the objective's gradient in float64 at the params and data recc wrote to env_dir."""
    model, spec = load(pkg, "cpu", torch.float64)
    with open(os.path.join(env_dir, "env.json")) as f:
        env = json.load(f)
    T = {k: torch.from_numpy(np.load(os.path.join(env_dir, v)).astype(np.float64)) for k, v in env["tensors"].items()}
    I = {k: torch.from_numpy(np.load(os.path.join(env_dir, v)).astype(np.int64)) for k, v in env["ids"].items()}
    S = env["sizes"]
    params = {p["py"]: T[p["py"]].clone().requires_grad_(True) for p in spec["params"]}
    T.update(params)
    shapes = []
    terms = []
    total = 0.0
    for term in spec["terms"]:
        v = 0.0
        for kind, fn in term["parts"].items():
            with ShapeTrace() as tr:
                v = v + getattr(model, fn)(T, I, S, {}, {})
            shapes.extend(tr.shapes)
        terms.append(float(v))
        total = total + v
    grads = torch.autograd.grad(total, list(params.values()), allow_unused=True)
    result = {"terms": terms, "grads": {k: ([] if g is None else g.reshape(-1).tolist()) for k, g in zip(params, grads)}, "shapes": shapes, "torch": torch.__version__}
    with open(out, "w") as f:
        json.dump(result, f)


class ShapeTrace:
    """Records the shape of every tensor a generated function (model.py) holds when it returns: every
    intermediate of a term is one of its locals (v1, v2, ...), so this is every tensor it materializes
    besides torch's own temporaries inside one call."""

    def __enter__(self):
        self.shapes = []
        self.old = sys.gettrace()

        def tracer(frame, event, arg):
            if event == "call":
                return local if frame.f_code.co_filename.endswith("model.py") else None
            return None

        def local(frame, event, arg):
            if event == "return":
                for v in frame.f_locals.values():
                    if isinstance(v, torch.Tensor):
                        self.shapes.append(list(v.shape))
            return local

        sys.settrace(tracer)
        return self

    def __exit__(self, *exc):
        sys.settrace(self.old)
        return False


def main(pkg, argv):
    import argparse

    ap = argparse.ArgumentParser(prog="train.py", description="train a model exported by recc (torch.distributed when run under torchrun)")
    ap.add_argument("--steps", type=int, help="stop after N updates (default: the model's)")
    ap.add_argument("--epochs", type=int, help="stop after N passes over the training data")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--log", help="write each step's terms and objective to this CSV (rank 0)")
    ap.add_argument("--metrics", help="write the final metrics to this JSON file (rank 0)")
    ap.add_argument("--no-eval", action="store_true", help="skip evaluation")
    ap.add_argument("--check", metavar="ENV_DIR", help="evaluate terms and gradients in float64 at the env recc wrote")
    ap.add_argument("--out", help="with --check: the JSON file to write")
    ap.add_argument("--nproc", type=int, default=1, help="start N local processes with torchrun's environment (RANK, WORLD_SIZE, ...): for machines where torchrun is unavailable or broken (Debian's 1.13 under Python 3.11)")
    ap.add_argument("--port", type=int, help="with --nproc: rendezvous over TCP at 127.0.0.1:PORT (default: a file in a fresh temporary folder, which no other job can join)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a rank waits in a collective (gloo/nccl) before it fails instead of hanging; with --nproc, a failed worker also stops the others (default 1800)")
    ap.add_argument("--init", choices=["trained", "initial"], default="trained", help="start from the run's trained params (a package exported from a run folder; the default) or from the model's initializers")
    ap.add_argument("--objective", metavar="OUT.json", help="write every term on the whole training data at the starting params (see --init) and exit")
    args = ap.parse_args(argv)
    if args.check:
        check(pkg, args.check, args.out)
        return
    if args.objective:
        objective_at(pkg, args)
        return
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        launch(argv, args.nproc, args.port)
        return
    train(pkg, args)
    if WORLD > 1:
        # every rank has passed train()'s final barrier: leave without tearing down the process
        # group (gloo's teardown in 1.13 can leave a rank spinning) and without interpreter shutdown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def launch(argv, n, port):
    """Runs this entry point in n local processes with the environment torchrun gives its workers.
    The rendezvous is a file in a fresh temporary folder (RECC_INIT_FILE) unless a port is given: a
    fixed TCP port can be taken, or joined, by another job on the same machine, whose ranks then wait
    on each other forever. When a worker fails, the others are stopped (they would otherwise wait in
    a collective for the rest of --timeout)."""
    import shutil
    import signal
    import subprocess
    import tempfile

    tmp = tempfile.mkdtemp(prefix="recc-rdzv-")
    base = dict(os.environ, WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1")
    if port is None:
        base["RECC_INIT_FILE"] = os.path.join(tmp, "rendezvous")
    else:
        base["MASTER_PORT"] = str(port)
    if "GLOO_SOCKET_IFNAME" not in base and os.path.exists("/sys/class/net/lo"):
        base["GLOO_SOCKET_IFNAME"] = "lo"  # the loopback interface: the ranks talk over 127.0.0.1
    procs = [subprocess.Popen([sys.executable, sys.argv[0]] + list(argv), env=dict(base, RANK=str(r), LOCAL_RANK=str(r))) for r in range(n)]
    codes = [None] * n
    try:
        while any(c is None for c in codes):
            for r, p in enumerate(procs):
                if codes[r] is None:
                    codes[r] = p.poll()
            if any(c not in (None, 0) for c in codes):
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL)
                codes = [p.wait() for p in procs]
                break
            time.sleep(0.05)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if any(codes):
        raise SystemExit("a worker failed (exit codes %s); the others were stopped" % codes)


def sizes0(spec):
    """The sizes of the domains and dims (the params' shapes)."""
    S0 = dict(spec["data"]["domains"])
    for sp in spec["spaces"].values():
        if sp["kind"] == "dim":
            S0[sp["size"]] = sp["dim"]
    return S0


def start_params(pkg, model, spec, S0, init):
    """The params training starts from: the initializers (one seeded generator, in declaration
    order), then, for a package exported from a run folder (spec "trained") unless init is
    "initial", the run's trained values. recc wrote them with rows in this package's id order
    (matched by external id, data/ids-*.json); a row the run never saw is NaN there and keeps its
    initializer, as `recc run --init` does."""
    gen = torch.Generator().manual_seed(spec["train"]["seed"])
    params = model.init_params(S0, gen)
    trained = spec.get("trained") if init == "trained" else None
    for py, f in (trained or {}).items():
        t = torch.from_numpy(np.load(os.path.join(pkg, f)).astype(np.float64)).to(DTYPE)
        if py not in params or tuple(t.shape) != tuple(params[py].shape):
            raise SystemExit("%s: shape %s does not fit param %s %s" % (f, tuple(t.shape), py, tuple(params[py].shape) if py in params else "(unknown)"))
        params[py] = torch.where(torch.isnan(t), params[py], t)
    return params


def objective_at(pkg, args):
    """Every term on the whole training data (one full batch, samples drawn once) at the params
    training would start from: recc's objective at a run's trained params, for a package exported
    from a run folder. Written as JSON to args.objective."""
    model, spec = load(pkg, args.device, torch.float64 if args.dtype == "float64" else torch.float32)
    train_side = load_side(pkg, "train", spec)
    S0 = sizes0(spec)
    params = {k: v.to(DEVICE) for k, v in start_params(pkg, model, spec, S0, args.init).items()}
    samplers = [Sampler(s, spec, train_side, S0) for s in spec["samplers"]]
    tables = {smp.s["py_table"]: smp.logq.to(DTYPE).to(DEVICE) for smp in samplers}
    rels = dict(train_side)
    sample_gen = torch.Generator().manual_seed(spec["train"]["seed"] + 2)
    for smp in samplers:
        smp.add_to(rels, spec, sample_gen)
    env = make_env(spec, rels, train_side, {}, tables)
    with torch.no_grad():
        _, parts = Objective(model, spec, params)(env, env, {})
    values = term_values(spec, parts)
    with open(args.objective, "w") as f:
        json.dump({"terms": {t["name"]: v for t, v in zip(spec["terms"], values)}, "total": sum(values), "params": "trained" if spec.get("trained") and args.init == "trained" else "initial", "torch": torch.__version__}, f, indent=1)
    print("objective at the %s params: %s  total %.10g" % ("trained" if spec.get("trained") and args.init == "trained" else "initial", "  ".join("%s %.10g" % (t["name"], v) for t, v in zip(spec["terms"], values)), sum(values)))


def train(pkg, args):
    global WORLD, RANK
    WORLD = int(os.environ.get("WORLD_SIZE", "1"))
    RANK = int(os.environ.get("RANK", "0"))
    device = args.device
    if WORLD > 1:
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            device = "cuda:%d" % torch.cuda.current_device()
        # a collective that waits longer than --timeout fails (gloo and nccl honour it) instead of hanging
        wait = datetime.timedelta(seconds=args.timeout)
        init_file = os.environ.get("RECC_INIT_FILE")
        if init_file:
            dist.init_process_group(backend, init_method="file://" + init_file, rank=RANK, world_size=WORLD, timeout=wait)
        else:
            dist.init_process_group(backend, timeout=wait)
    model, spec = load(pkg, device, torch.float64 if args.dtype == "float64" else torch.float32)
    cfg = spec["train"]
    train_side = load_side(pkg, "train", spec)
    test_side = load_side(pkg, "test", spec)
    S0 = sizes0(spec)
    params = {k: v.to(DEVICE) for k, v in start_params(pkg, model, spec, S0, args.init).items()}
    obj = Objective(model, spec, params)
    net = obj
    if WORLD > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(obj, device_ids=[torch.cuda.current_device()] if device.startswith("cuda") else None, find_unused_parameters=True, broadcast_buffers=False)
    opt = Optimizer(cfg["optimizer"], dict(obj.params.items()), {p["py"]: p.get("rows", False) for p in spec["params"]})
    samplers = [Sampler(s, spec, train_side, S0) for s in spec["samplers"]]
    tables = {}
    for smp in samplers:
        tables[smp.s["py_table"]] = smp.logq.to(DTYPE).to(DEVICE)
    primary = spec["data"]["primary"]
    prel = train_side[primary]
    batch = cfg["batch"]
    B = batch["size"] if batch["kind"] == "tuples" and batch["size"] < prel.size else None
    per_epoch = max(1, math.ceil(prel.size / B)) if B else 1
    total = args.steps if args.steps is not None else (args.epochs * per_epoch if args.epochs is not None else (cfg["length"]["count"] if cfg["length"]["unit"] == "steps" else cfg["length"]["count"] * per_epoch))
    if cfg["optimizer"]["kind"] == "als" and total > 0:
        raise SystemExit("%s trains by optimizer als (exact block updates), which this package does not run yet: train it with recc and export the run folder; here --steps 0 evaluates its params, --objective and --check work" % spec["model"])
    every = spec["evaluate"]["every"]
    eval_every = 0 if every is None else (every["count"] if every["unit"] == "steps" else every["count"] * per_epoch)
    batch_gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    sample_gen = torch.Generator().manual_seed(cfg["seed"] + 2)
    order, pos = None, 0
    replicated = any("replicated" in t["parts"] for t in spec["terms"])
    SH = domain_shards(spec, RANK, WORLD) if WORLD > 1 else {}
    log = open(args.log, "w") if args.log and RANK == 0 else None
    if log:
        log.write("step,epoch,lr," + ",".join(t["name"] for t in spec["terms"]) + ",total,ms\n")
    evals = []
    started = time.time()
    for s in range(total):
        t0 = time.time()
        rels = dict(train_side)
        if B:
            if order is None or pos >= prel.size:
                order, pos = torch.randperm(prel.size, generator=batch_gen).to(DEVICE), 0
            idx = order[pos:pos + B]
            pos += B
            rels.update(select_rows(train_side, prel, idx))
        for smp in samplers:
            smp.add_to(rels, spec, sample_gen)
        local_env = make_env(spec, rels, train_side, {}, tables, shard=(RANK, WORLD) if WORLD > 1 else None)
        full_env = make_env(spec, rels, train_side, {}, tables) if (replicated and WORLD > 1) else local_env
        for p in obj.params.values():
            p.grad = None
        loss, parts = net(local_env, full_env, SH)
        loss.backward()
        values = term_values(spec, parts)
        lr = learning_rate(cfg["optimizer"], cfg["schedule"], s)
        if not all(math.isfinite(v) for v in values):
            bad = [t["name"] for t, v in zip(spec["terms"], values) if not math.isfinite(v)]
            raise SystemExit("training diverged at step %d: term %s is not finite" % (s + 1, bad[0]))
        opt.step(lr)
        ms = (time.time() - t0) * 1000
        if log:
            log.write("%d,%.6f,%.8g,%s,%.17g,%.3f\n" % (s + 1, (s + 1) / per_epoch, lr, ",".join("%.17g" % v for v in values), sum(values), ms))
        if RANK == 0 and (s == 0 or (s + 1) % max(1, per_epoch) == 0):
            print("step %6d  %s  total %.6g  (%.1f ms/step)" % (s + 1, "  ".join("%s %.6g" % (t["name"], v) for t, v in zip(spec["terms"], values)), sum(values), ms), file=sys.stderr)
        if not args.no_eval and eval_every > 0 and (s + 1) % eval_every == 0 and s + 1 < total:
            do_eval(model, spec, obj, train_side, test_side, tables, s + 1, evals)
    if not args.no_eval:
        do_eval(model, spec, obj, train_side, test_side, tables, total, evals)
    if log:
        log.close()
    if RANK == 0:
        final = evals[-1]["metrics"] if evals else {}
        print("%s: %d steps in %.1f s on %d process(es) · %s" % (spec["model"], total, time.time() - started, WORLD, " · ".join("%s %.4f" % kv for kv in final.items())))
        if args.metrics:
            with open(args.metrics, "w") as f:
                json.dump({"model": spec["model"], "steps": total, "world": WORLD, "evals": evals, "torch": torch.__version__}, f, indent=2)
    if WORLD > 1:
        # every rank reaches this barrier before any leaves (main() then exits without teardown)
        dist.barrier()


def do_eval(model, spec, obj, train_side, test_side, tables, step_, evals):
    if RANK == 0:
        params = {k: v.detach() for k, v in obj.params.items()}
        m = evaluate(model, spec, params, train_side, test_side, tables)
        evals.append({"step": step_, "metrics": m})
        print("eval step %d: %s" % (step_, "  ".join("%s %.4f" % kv for kv in m.items())), file=sys.stderr)
    if WORLD > 1:
        dist.barrier()
