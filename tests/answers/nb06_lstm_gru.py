"""Wrong and correct answers for 06_lstm_gru (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "06_lstm_gru"


def _lstm(pre: str, body: str) -> str:
    return ("def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):\n"
            f"    {pre}\n" + "".join(f"    {line}\n" for line in body.strip().splitlines()))


_GATES = "a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh"


def _gru(body: str) -> str:
    return ("def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):\n"
            "    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)\n"
            "    h_r, h_z, h_n = (h @ W_hh.T + b_hh).chunk(3, dim=-1)\n"
            + "".join(f"    {line}\n" for line in body.strip().splitlines()))


def _horizon(body: str) -> str:
    return ("def memory_horizon(norms, threshold=1e-3):\n"
            + "".join(f"    {line}\n" for line in body.strip().splitlines()))


EXERCISES = {
    "lstm_cell": Answers(
        wrong={
            "gate order i, f, o, g": _lstm(_GATES, """
i, f, o, g = a.chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * torch.tanh(c_new), c_new
"""),
            "h = o * c without tanh": _lstm(_GATES, """
i, f, g, o = a.chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * c_new, c_new
"""),
            "sigmoid where tanh belongs": _lstm(_GATES, """
i, f, g, o = torch.sigmoid(a).chunk(4, dim=-1)
c_new = f * c + i * g
return o * torch.tanh(c_new), c_new
"""),
            "returns (c, h)": _lstm(_GATES, """
i, f, g, o = a.chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return c_new, torch.sigmoid(o) * torch.tanh(c_new)
"""),
            "tanh of the old cell state": _lstm(_GATES, """
i, f, g, o = a.chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * torch.tanh(c), c_new
"""),
            "detached from autograd": _lstm(_GATES, """
i, f, g, o = a.detach().chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c.detach() + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * torch.tanh(c_new), c_new
"""),
            "one bias only": _lstm("a = x @ W_ih.T + b_ih + h @ W_hh.T", """
i, f, g, o = a.chunk(4, dim=-1)
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * torch.tanh(c_new), c_new
"""),
            # Passes under torch.no_grad (numpy's ufuncs return tensors there), fails on inputs
            # that require grad: the visible test calls it so and names the cause.
            "numpy inside the cell": _lstm(_GATES, """
i, f, g, o = a.chunk(4, dim=-1)
sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
return sigmoid(o) * np.tanh(c_new), c_new
"""),
        },
        messages={"numpy inside the cell": "use torch operations only"},
        correct={
            "per-gate linear maps": _lstm("H = h.shape[-1]", """
linear = torch.nn.functional.linear

def gate(k):
    rows = slice(k * H, (k + 1) * H)
    return linear(x, W_ih[rows], b_ih[rows]) + linear(h, W_hh[rows], b_hh[rows])

i, f, g, o = (gate(k) for k in range(4))
c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
return torch.sigmoid(o) * torch.tanh(c_new), c_new
"""),
            "sigmoid everywhere, then tanh for g": _lstm(_GATES, """
H = h.shape[-1]
i, f, _, o = torch.sigmoid(a).split(H, dim=-1)
g = torch.tanh(a[..., 2 * H:3 * H])
c_new = torch.addcmul(f * c, i, g)
h_new = o * torch.tanh(c_new)
return (h_new, c_new)
"""),
        },
    ),
    "forget_path_gain": Answers(
        wrong={
            "one step late: F[k+1:t+1]": "def forget_path_gain(F, k, t):\n"
                                         "    if k > t:\n"
                                         "        raise ValueError('k > t')\n"
                                         "    return F[k + 1:t + 1].prod(dim=0)\n",
            "one factor too many: F[k:t+1]": "def forget_path_gain(F, k, t):\n"
                                             "    if k > t:\n"
                                             "        raise ValueError('k > t')\n"
                                             "    return F[k:t + 1].prod(dim=0)\n",
            "a sum, not a product": "def forget_path_gain(F, k, t):\n"
                                    "    if k > t:\n"
                                    "        raise ValueError('k > t')\n"
                                    "    return F[k:t].sum(dim=0)\n",
            "no error for k > t": "def forget_path_gain(F, k, t):\n"
                                  "    return F[k:t].prod(dim=0)\n",
            "product over every axis": "def forget_path_gain(F, k, t):\n"
                                       "    if k > t:\n"
                                       "        raise ValueError('k > t')\n"
                                       "    return F[k:t].prod()\n",
        },
        correct={
            "a loop over the steps": "def forget_path_gain(F, k, t):\n"
                                     "    if k > t:\n"
                                     "        raise ValueError(f'need k <= t, got {k} > {t}')\n"
                                     "    gain = torch.ones_like(F[0])\n"
                                     "    for s in range(k + 1, t + 1):\n"
                                     "        gain = gain * F[s - 1]\n"
                                     "    return gain\n",
            "exp of a sum of logs": "def forget_path_gain(F, k, t):\n"
                                    "    if not k <= t:\n"
                                    "        raise ValueError('the path runs forward: k <= t')\n"
                                    "    return torch.exp(torch.log(F[k:t]).sum(dim=0))\n",
        },
    ),
    "gru_cell": Answers(
        wrong={
            "b_hn outside the reset gate": _gru("""
r = torch.sigmoid(x_r + h_r)
z = torch.sigmoid(x_z + h_z)
b_hn = b_hh[2 * h.shape[-1]:]
n = torch.tanh(x_n + r * (h_n - b_hn) + b_hn)
return (1 - z) * n + z * h
"""),
            "the other convention: z weights the candidate": _gru("""
r = torch.sigmoid(x_r + h_r)
z = torch.sigmoid(x_z + h_z)
n = torch.tanh(x_n + r * h_n)
return z * n + (1 - z) * h
"""),
            "gate order z, r, n": _gru("""
z = torch.sigmoid(x_r + h_r)
r = torch.sigmoid(x_z + h_z)
n = torch.tanh(x_n + r * h_n)
return (1 - z) * n + z * h
"""),
            "sigmoid for the candidate": _gru("""
r = torch.sigmoid(x_r + h_r)
z = torch.sigmoid(x_z + h_z)
n = torch.sigmoid(x_n + r * h_n)
return (1 - z) * n + z * h
"""),
            "Cho et al.'s reset before the matrix": _gru("""
r = torch.sigmoid(x_r + h_r)
z = torch.sigmoid(x_z + h_z)
H = h.shape[-1]
n = torch.tanh(x_n + (r * h) @ W_hh[2 * H:].T + b_hh[2 * H:])
return (1 - z) * n + z * h
"""),
            "computes in float64": "def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):\n"
                                   "    x, h, W_ih, W_hh, b_ih, b_hh = (t.double() for t in\n"
                                   "                                    (x, h, W_ih, W_hh, b_ih, b_hh))\n"
                                   + _gru("""
r = torch.sigmoid(x_r + h_r)
z = torch.sigmoid(x_z + h_z)
n = torch.tanh(x_n + r * h_n)
return (1 - z) * n + z * h
""").split("\n", 1)[1],
            "numpy inside the cell": _gru("""
r = 1 / (1 + np.exp(-(x_r + h_r)))
z = 1 / (1 + np.exp(-(x_z + h_z)))
n = np.tanh(x_n + r * h_n)
return (1 - z) * n + z * h
"""),
        },
        messages={
            "b_hn outside the reset gate": "PyTorch's uses r * (W_hn h + b_hn)",
            "computes in float64": "float32 inputs should give float32 outputs",
            "numpy inside the cell": "use torch operations only",
        },
        correct={
            "lerp": _gru("""
r, z = torch.sigmoid(torch.cat([x_r + h_r, x_z + h_z], dim=-1)).chunk(2, dim=-1)
n = torch.tanh(x_n + r * h_n)
return torch.lerp(n, h, z)
"""),
            "per-gate linear maps": "def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):\n"
                                    "    H = h.shape[-1]\n"
                                    "    lin = torch.nn.functional.linear\n"
                                    "    part = [slice(k * H, (k + 1) * H) for k in range(3)]\n"
                                    "    r = torch.sigmoid(lin(x, W_ih[part[0]], b_ih[part[0]])\n"
                                    "                      + lin(h, W_hh[part[0]], b_hh[part[0]]))\n"
                                    "    z = torch.sigmoid(lin(x, W_ih[part[1]], b_ih[part[1]])\n"
                                    "                      + lin(h, W_hh[part[1]], b_hh[part[1]]))\n"
                                    "    n = torch.tanh(lin(x, W_ih[part[2]], b_ih[part[2]])\n"
                                    "                   + r * lin(h, W_hh[part[2]], b_hh[part[2]]))\n"
                                    "    return n + z * (h - n)\n",
        },
    ),
    "memory_horizon": Answers(
        wrong={
            "first d below the threshold": _horizon("""
ratios = np.asarray(norms, dtype=float) / float(norms[0])
failing = np.flatnonzero(ratios < threshold)
return int(failing[0]) if failing.size else len(ratios) - 1
"""),
            "last d above the threshold": _horizon("""
ratios = np.asarray(norms, dtype=float) / float(norms[0])
return int(np.flatnonzero(ratios >= threshold).max())
"""),
            "raw norms, no ratio": _horizon("""
above = np.asarray(norms, dtype=float) >= threshold
return int(np.logical_and.accumulate(above).sum()) - 1
"""),
            "strict > at the threshold": _horizon("""
ratios = np.asarray(norms, dtype=float) / float(norms[0])
return int(np.logical_and.accumulate(ratios > threshold).sum()) - 1
"""),
            "ratios against the largest norm": _horizon("""
norms = np.asarray(norms, dtype=float)
ratios = norms / norms.max()
return int(np.logical_and.accumulate(ratios >= threshold).sum()) - 1
"""),
            "a numpy integer": _horizon("""
ratios = np.asarray(norms, dtype=float) / float(norms[0])
return np.logical_and.accumulate(ratios >= threshold).sum() - 1
"""),
        },
        messages={"a numpy integer": "should return a Python int"},
        correct={
            "a loop with break": _horizon("""
norms = [float(v) for v in norms]
horizon = 0
for d in range(1, len(norms)):
    if not norms[d] / norms[0] >= threshold:
        break
    horizon = d
return horizon
"""),
            "running logical and": _horizon("""
ratios = np.asarray(norms, dtype=np.float64) / float(norms[0])
inside = np.logical_and.accumulate(ratios >= threshold)
return int(np.count_nonzero(inside)) - 1
"""),
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "bc"\n'},
        correct={"b": 'knowledge_check = "b"\n',
                 "upper case, padded": 'knowledge_check = " B "\n'},
    ),
}
