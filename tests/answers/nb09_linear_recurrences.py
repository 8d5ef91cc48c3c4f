"""Wrong and correct answers for 09_linear_recurrences (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "09_linear_recurrences"

_CHECK = """\
lam, U, h0 = (np.asarray(a, dtype=complex) for a in (lam, U, h0))
if lam.ndim != 1 or U.ndim != 2 or U.shape[1] != lam.shape[0] or h0.shape != lam.shape:
    raise ValueError("shapes")
"""


def _indent(body: str) -> str:
    return "".join(f"    {line}\n" if line else "\n" for line in body.strip("\n").splitlines())


def _linear(body: str, check: str = _CHECK) -> str:
    return "def linear_scan(lam, U, h0):\n" + _indent(check + body)


def _parallel(body: str, check: str = _CHECK) -> str:
    return "def parallel_scan(lam, U, h0):\n" + _indent(check + body)


def _gradient(body: str) -> str:
    return "def state_gradient(lam, t, k):\n" + _indent(body)


def _eigenvalues(body: str) -> str:
    return "def lru_eigenvalues(nu_log, theta_log):\n" + _indent(body)


def _ring(body: str) -> str:
    return "def ring_init(n, r_min, r_max, max_phase, rng):\n" + _indent(body)


def _gamma(body: str) -> str:
    return "def lru_gamma(lam):\n" + _indent(body)


_RING_CHECK = """\
if not 0 <= r_min <= r_max <= 1 or not max_phase > 0 or n < 0:
    raise ValueError("bad ring")
"""

_HILLIS_STEELE = """\
A = np.broadcast_to(lam, U.shape).copy()
B = U.copy()
shift = 1
while shift < len(U):
    B[shift:] = A[shift:] * B[:-shift] + B[shift:]
    A[shift:] = A[shift:] * A[:-shift]
    shift *= 2
"""

EXERCISES = {
    "linear_scan": Answers(
        wrong={
            "states without h0 (T, d)": _linear("""
H = []
h = h0
for u in U:
    h = lam * h + u
    H.append(h)
return np.array(H).reshape(len(U), len(lam))
"""),
            "real dtype": _linear("""
H = np.zeros((len(U) + 1, len(lam)))
H[0] = h0.real
for t in range(1, len(U) + 1):
    H[t] = (lam * H[t - 1] + U[t - 1]).real
return H
"""),
            "input scaled by lam": _linear("""
H = np.empty((len(U) + 1, len(lam)), dtype=complex)
H[0] = h0
for t in range(1, len(U) + 1):
    H[t] = lam * (H[t - 1] + U[t - 1])
return H
"""),
            "no shape checks": _linear("""
H = np.empty((len(U) + 1, len(lam)), dtype=complex)
H[0] = h0
for t in range(1, len(U) + 1):
    H[t] = lam * H[t - 1] + U[t - 1]
return H
""", check="lam, U, h0 = (np.asarray(a, dtype=complex) for a in (lam, U, h0))\n"),
            "modifies U in place": _linear("""
U[0] += lam * h0
for t in range(1, len(U)):
    U[t] += lam * U[t - 1]
return np.vstack([h0[None], U])
""", check="lam, h0 = np.asarray(lam, dtype=complex), np.asarray(h0, dtype=complex)\n"
           "if U.shape[1:] != lam.shape or lam.ndim != 1 or h0.shape != lam.shape:\n"
           "    raise ValueError('shapes')\n"),
        },
        messages={"input scaled by lam": "the input enters unscaled",
                  "real dtype": "dtype of H"},
        correct={
            "list of states": _linear("""
states = [h0]
for u in U:
    states.append(lam * states[-1] + u)
return np.array(states).reshape(len(U) + 1, len(lam))
"""),
            "torch loop": _linear("""
lam_t, h = torch.as_tensor(lam), torch.as_tensor(h0)
rows = [h]
for u in torch.as_tensor(U):
    h = lam_t * h + u
    rows.append(h)
return torch.stack(rows).numpy()
"""),
        },
    ),
    "state_gradient": Answers(
        wrong={
            "one power short": _gradient("""
if k < 0 or k > t:
    raise ValueError("k > t")
return np.asarray(lam, dtype=complex) ** (t - k - 1)
"""),
            "modulus only": _gradient("""
if k < 0 or k > t:
    raise ValueError("k > t")
return np.abs(np.asarray(lam)) ** (t - k) + 0j
"""),
            "conjugate": _gradient("""
if k < 0 or k > t:
    raise ValueError("k > t")
return np.conj(np.asarray(lam, dtype=complex)) ** (t - k)
"""),
            "no error for k > t": _gradient("""
return np.asarray(lam, dtype=complex) ** abs(t - k)
"""),
        },
        messages={"conjugate": "conj(lam) ** (t - k)", "one power short": "t - k steps"},
        correct={
            "polar form": _gradient("""
if not 0 <= k <= t:
    raise ValueError("need 0 <= k <= t")
lam = np.asarray(lam, dtype=complex)
n = t - k
with np.errstate(divide="ignore"):
    modulus = np.where(np.abs(lam) > 0, np.abs(lam), 0.0) ** n
return modulus * np.exp(1j * n * np.angle(lam))
"""),
            "repeated multiplication": _gradient("""
if k > t or k < 0:
    raise ValueError("h_t does not depend on a later state")
result = np.ones(np.shape(lam), dtype=complex)
for _ in range(t - k):
    result = result * lam
return result
"""),
        },
    ),
    "lru_eigenvalues": Answers(
        wrong={
            "one exponential": _eigenvalues("return torch.exp(nu_log + 1j * theta_log)\n"),
            "phase not exponentiated": _eigenvalues(
                "return torch.exp(-torch.exp(nu_log)) * torch.exp(1j * theta_log)\n"),
            "conjugate phase": _eigenvalues(
                "return torch.exp(torch.complex(-torch.exp(nu_log), -torch.exp(theta_log)))\n"),
            "numpy": _eigenvalues(
                "return np.exp(-np.exp(nu_log.detach().numpy()) + 1j * np.exp(theta_log.detach().numpy()))\n"),
            "always complex128": _eigenvalues(
                "return torch.exp(torch.complex(-torch.exp(nu_log.double()), torch.exp(theta_log.double())))\n"),
        },
        messages={"one exponential": "exp(nu + i theta)",
                  "numpy": "should return a torch tensor"},
        correct={
            "polar": _eigenvalues(
                "return torch.polar(torch.exp(-torch.exp(nu_log)), torch.exp(theta_log))\n"),
            "plus 1j": _eigenvalues("return torch.exp(-nu_log.exp() + 1j * theta_log.exp())\n"),
        },
    ),
    "ring_init": Answers(
        wrong={
            "uniform radius": _ring(_RING_CHECK + """
radius = rng.uniform(r_min, r_max, n)
return radius * np.exp(1j * rng.uniform(0, max_phase, n))
"""),
            "squared radius forgotten sqrt": _ring(_RING_CHECK + """
radius = rng.uniform(r_min ** 2, r_max ** 2, n)
return radius * np.exp(1j * rng.uniform(0, max_phase, n))
"""),
            "symmetric phase": _ring(_RING_CHECK + """
radius = np.sqrt(rng.uniform(r_min ** 2, r_max ** 2, n))
return radius * np.exp(1j * rng.uniform(-max_phase, max_phase, n))
"""),
            "global numpy random state": _ring(_RING_CHECK + """
radius = np.sqrt(np.random.uniform(r_min ** 2, r_max ** 2, n))
return radius * np.exp(1j * np.random.uniform(0, max_phase, n))
"""),
            "no argument checks": _ring("""
radius = np.sqrt(rng.uniform(r_min ** 2, r_max ** 2, n))
return radius * np.exp(1j * rng.uniform(0, max_phase, n))
"""),
        },
        messages={"uniform radius": "not uniform in area",
                  "global numpy random state": "not reproducible from rng"},
        correct={
            "inverse cdf with random": _ring("""
if r_min < 0 or r_max < r_min or r_max > 1 or max_phase <= 0 or n < 0:
    raise ValueError("need 0 <= r_min <= r_max <= 1 and max_phase > 0")
u, v = rng.random(n), rng.random(n)
radius = np.sqrt(r_min ** 2 + u * (r_max ** 2 - r_min ** 2))
return radius * (np.cos(max_phase * v) + 1j * np.sin(max_phase * v))
"""),
            "polar with one draw": _ring(_RING_CHECK + """
draws = rng.uniform(size=(2, n))
radius = np.sqrt(r_min ** 2 + (r_max ** 2 - r_min ** 2) * draws[0])
return radius * np.exp(1j * max_phase * draws[1])
"""),
        },
    ),
    "lru_gamma": Answers(
        wrong={
            "no square root": _gamma("""
r = np.abs(np.asarray(lam))
if np.any(r > 1 + 1e-12):
    raise ValueError("unstable")
return np.clip(1 - r ** 2, 0, None)
"""),
            "sqrt(1 - |lam|)": _gamma("""
r = np.abs(np.asarray(lam))
if np.any(r > 1 + 1e-12):
    raise ValueError("unstable")
return np.sqrt(np.clip(1 - r, 0, None))
"""),
            "inverse": _gamma("""
r = np.abs(np.asarray(lam))
if np.any(r > 1 + 1e-12):
    raise ValueError("unstable")
return 1 / np.sqrt(1 - r ** 2)
"""),
            "NaN on the rounded unit circle": _gamma("""
r = np.abs(np.asarray(lam))
if np.any(r > 1 + 1e-12):
    raise ValueError("unstable")
return np.sqrt(1 - r ** 2)
"""),
            "no error above 1": _gamma("""
return np.sqrt(np.clip(1 - np.abs(np.asarray(lam)) ** 2, 0, None))
"""),
        },
        messages={"no square root": "without the square root",
                  "no error above 1": "should raise ValueError"},
        correct={
            "factored": _gamma("""
r = np.abs(np.asarray(lam))
if (r > 1 + 1e-12).any():
    raise ValueError("|lambda| > 1: no stationary variance")
return np.sqrt(np.maximum((1 - r) * (1 + r), 0.0))
"""),
            "real and imaginary parts": _gamma("""
lam = np.asarray(lam, dtype=complex)
power = lam.real ** 2 + lam.imag ** 2
if np.any(power > (1 + 1e-12) ** 2):
    raise ValueError("unstable mode")
return np.sqrt(np.where(power < 1, 1 - power, 0.0))
"""),
        },
    ),
    "parallel_scan": Answers(
        wrong={
            "ignores h0": _parallel(_HILLIS_STEELE + """
return np.vstack([h0[None], B])
"""),
            "closed form with negative powers": _parallel("""
t = np.arange(1, len(U) + 1)[:, None]
powers = lam[None, :] ** t
return np.vstack([h0[None], powers * (h0 + np.cumsum(U / powers, axis=0))])
"""),
            "one round too few": _parallel("""
A = np.broadcast_to(lam, U.shape).copy()
B = U.copy()
shift = 1
while 2 * shift < len(U):
    B[shift:] = A[shift:] * B[:-shift] + B[shift:]
    A[shift:] = A[shift:] * A[:-shift]
    shift *= 2
return np.vstack([h0[None], A * h0 + B])
"""),
            "modifies U": _parallel("""
A = np.broadcast_to(lam, U.shape).copy()
B = U
shift = 1
while shift < len(U):
    B[shift:] = A[shift:] * B[:-shift] + B[shift:]
    A[shift:] = A[shift:] * A[:-shift]
    shift *= 2
return np.vstack([h0[None], A * h0 + B])
""", check="lam, h0 = np.asarray(lam, dtype=complex), np.asarray(h0, dtype=complex)\n"
           "if U.ndim != 2 or U.shape[1:] != lam.shape or h0.shape != lam.shape:\n"
           "    raise ValueError('shapes')\n"),
        },
        messages={"ignores h0": "h0 is ignored"},
        correct={
            "h0 as step zero": _parallel("""
A = np.vstack([np.zeros((1, len(lam)), dtype=complex), np.broadcast_to(lam, U.shape)])
B = np.vstack([h0[None], U])
shift = 1
while shift < len(B):
    A_new, B_new = A.copy(), B.copy()
    A_new[shift:] = A[shift:] * A[:-shift]
    B_new[shift:] = A[shift:] * B[:-shift] + B[shift:]
    A, B = A_new, B_new
    shift *= 2
return B
"""),
            "doubling with padding": _parallel("""
A = np.broadcast_to(lam, U.shape).copy()
B = U.copy()
shift = 1
while shift < len(U):
    A_before = np.concatenate([np.ones((shift, len(lam))), A[:-shift]])
    B_before = np.concatenate([np.zeros((shift, len(lam))), B[:-shift]])
    A, B = A * A_before, A * B_before + B
    shift *= 2
return np.concatenate([h0[None], A * h0 + B])
"""),
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "bd"\n'},
        correct={"b": 'knowledge_check = "b"\n', "upper case": 'knowledge_check = " B"\n'},
    ),
}
