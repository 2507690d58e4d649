"""bench/als-reference.py: a hand-written numpy + scipy iALS of examples/ials.recmodel's objective,
  L = [c_neg·Σ_{u,i} (U_u·V_i)² + Σ_{(u,i) ∈ likes} (c_pos·(1 − U_u·V_i)² − c_neg·(U_u·V_i)²)] / |user|
      + λ·(‖U‖² + ‖V‖²) / |user|,
updated V then U per sweep with the Gramian trick: for a row, A = c_neg·G + (c_pos − c_neg)·Y_Sᵀ Y_S + λI,
b = c_pos·Σ_{S} y (the common factor 2/|user| cancels), solved by a Cholesky factorization
(scipy.linalg.cho_factor / cho_solve). Reads dir/{U0,V0,users,items}.npy and dir/consts.json; prints
one JSON line: the seconds of every sweep and the objective after it. Run by bench/als.ts."""
import json
import sys
import time

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.sparse import csr_matrix


def main(d: str, sweeps: int) -> None:
    k = json.load(open(f"{d}/consts.json"))
    c_pos, c_neg, lam = k["c_pos"], k["c_neg"], k["lambda"]
    U = np.load(f"{d}/U0.npy").astype(np.float64)
    V = np.load(f"{d}/V0.npy").astype(np.float64)
    users, items = np.load(f"{d}/users.npy"), np.load(f"{d}/items.npy")
    R = csr_matrix((np.ones(len(users)), (users, items)), shape=(U.shape[0], V.shape[0]))
    Rt = R.T.tocsr()
    n_users = U.shape[0]
    eye = np.eye(U.shape[1])

    def solve(X, Y, M):
        G = Y.T @ Y
        for r in range(X.shape[0]):
            S = M.indices[M.indptr[r]:M.indptr[r + 1]]
            Ys = Y[S]
            A = c_neg * G + (c_pos - c_neg) * (Ys.T @ Ys) + lam * eye
            X[r] = cho_solve(cho_factor(A), c_pos * Ys.sum(axis=0))

    def objective():
        s = np.einsum("ij,ij->i", U[users], V[items])
        allpairs = np.sum((U.T @ U) * (V.T @ V))
        whole = (c_neg * allpairs + np.sum(c_pos * (1 - s) ** 2 - c_neg * s ** 2)) / n_users
        return whole + lam * (np.sum(U ** 2) + np.sum(V ** 2)) / n_users

    secs, objs = [], []
    for _ in range(sweeps):
        t0 = time.perf_counter()
        solve(V, U, Rt)
        solve(U, V, R)
        secs.append(time.perf_counter() - t0)
        objs.append(float(objective()))
    print(json.dumps({"seconds": secs, "objective": objs}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
