"""Wrong and correct answers for 03_eigenvalue_analysis (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "03_eigenvalue_analysis"

EXERCISES = {
    "spectral_radius": Answers(
        wrong={
            "no abs": "def spectral_radius(W):\n"
                      "    return float(np.max(np.linalg.eigvals(W).real))\n",
            "largest |real part|": "def spectral_radius(W):\n"
                                   "    return float(np.max(np.abs(np.linalg.eigvals(W).real)))\n",
            "largest singular value": "def spectral_radius(W):\n"
                                      "    return float(np.linalg.norm(W, 2))\n",
            "a 0-d array": "def spectral_radius(W):\n"
                           "    return np.asarray(np.max(np.abs(np.linalg.eigvals(W))))\n",
            "largest |diagonal entry|": "def spectral_radius(W):\n"
                                        "    return float(np.max(np.abs(np.diag(W))))\n",
        },
        correct={
            "generator of moduli": "def spectral_radius(W):\n"
                                   "    return max(abs(lam) for lam in np.linalg.eigvals(W))\n",
            "real and imaginary parts": "def spectral_radius(W):\n"
                                        "    lam = np.linalg.eigvals(W)\n"
                                        "    return float(np.sqrt(np.max(lam.real**2 + "
                                        "lam.imag**2)))\n",
        },
    ),
    "power_iteration": Answers(
        wrong={
            "iterates with W, not W.T W": "def power_iteration(W, n_iter=100, rng=None):\n"
                                          "    rng = np.random.default_rng() if rng is None "
                                          "else rng\n"
                                          "    v = rng.normal(size=W.shape[1])\n"
                                          "    v /= np.linalg.norm(v)\n"
                                          "    for _ in range(n_iter):\n"
                                          "        v = W @ v\n"
                                          "        v /= np.linalg.norm(v)\n"
                                          "    return float(np.linalg.norm(W @ v))\n",
            "returns sigma squared": "def power_iteration(W, n_iter=100, rng=None):\n"
                                     "    rng = np.random.default_rng() if rng is None else rng\n"
                                     "    v = rng.normal(size=W.shape[1])\n"
                                     "    for _ in range(n_iter):\n"
                                     "        v = W.T @ (W @ v)\n"
                                     "        v /= np.linalg.norm(v)\n"
                                     "    return float(v @ W.T @ W @ v)\n",
            "SVD instead of iterating": "def power_iteration(W, n_iter=100, rng=None):\n"
                                        "    return float(np.linalg.svd(W, compute_uv=False)[0])\n",
            "a fixed start, rng never used": "def power_iteration(W, n_iter=100, rng=None):\n"
                                            "    v = np.ones(W.shape[1]) / np.sqrt(W.shape[1])\n"
                                            "    for _ in range(n_iter):\n"
                                            "        v = W.T @ (W @ v)\n"
                                            "        v /= np.linalg.norm(v)\n"
                                            "    return float(np.linalg.norm(W @ v))\n",
            "ignores rng": "def power_iteration(W, n_iter=100, rng=None):\n"
                           "    v = np.random.normal(size=W.shape[1])\n"
                           "    for _ in range(n_iter):\n"
                           "        v = W.T @ (W @ v)\n"
                           "        v /= np.linalg.norm(v)\n"
                           "    return float(np.linalg.norm(W @ v / np.linalg.norm(v)))\n",
        },
        correct={
            "Gram matrix once, Rayleigh quotient": "def power_iteration(W, n_iter=100, rng=None):\n"
                                                   "    if rng is None:\n"
                                                   "        rng = np.random.default_rng()\n"
                                                   "    A = W.T @ W\n"
                                                   "    v = rng.standard_normal(A.shape[0])\n"
                                                   "    v = v / np.linalg.norm(v)\n"
                                                   "    for _ in range(n_iter):\n"
                                                   "        v = A @ v\n"
                                                   "        v = v / np.linalg.norm(v)\n"
                                                   "    return float(np.sqrt(v @ A @ v))\n",
            "alternating left and right": "def power_iteration(W, n_iter=100, rng=None):\n"
                                          "    rng = rng or np.random.default_rng()\n"
                                          "    v = rng.normal(size=W.shape[1])\n"
                                          "    v /= np.sqrt(v @ v)\n"
                                          "    for _ in range(n_iter):\n"
                                          "        u = W @ v\n"
                                          "        v = W.T @ u\n"
                                          "        v /= np.sqrt(v @ v)\n"
                                          "    return float(np.linalg.norm(W @ v))\n",
        },
    ),
    "scale_to_spectral_radius": Answers(
        wrong={
            "divides by sigma_max": "def scale_to_spectral_radius(W, rho):\n"
                                    "    return W * rho / np.linalg.norm(W, 2)\n",
            "multiplies by rho only": "def scale_to_spectral_radius(W, rho):\n"
                                      "    return W * rho\n",
            "largest real part": "def scale_to_spectral_radius(W, rho):\n"
                                 "    return W * rho / np.max(np.linalg.eigvals(W).real)\n",
            "rescales in place": "def scale_to_spectral_radius(W, rho):\n"
                                 "    W *= rho / spectral_radius(W)\n"
                                 "    return W\n",
        },
        correct={
            "moduli inline": "def scale_to_spectral_radius(W, rho):\n"
                             "    return rho * W / np.abs(np.linalg.eigvals(W)).max()\n",
            "divide, then multiply": "def scale_to_spectral_radius(W, rho):\n"
                                     "    unit = W / spectral_radius(W)\n"
                                     "    return unit * rho\n",
        },
    ),
    "gradient_regime": Answers(
        wrong={
            "eigenvalues instead of singular values": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = spectral_radius(W) * gamma\n"
                "    if np.isclose(s, 1.0, rtol=1e-9, atol=0):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "gamma ignored": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W, 2)\n"
                "    if np.isclose(s, 1.0, rtol=1e-9, atol=0):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "divides by gamma": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W, 2) / gamma\n"
                "    if np.isclose(s, 1.0, rtol=1e-9, atol=0):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "Frobenius norm": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W) * gamma\n"
                "    if np.isclose(s, 1.0, rtol=1e-9, atol=0):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "two labels, the boundary called may_explode": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    return 'vanishing' if np.linalg.norm(W, 2) * gamma < 1 "
                "else 'may_explode'\n"),
            "two labels, <= on the boundary": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    return 'vanishing' if np.linalg.norm(W, 2) * gamma <= 1 "
                "else 'may_explode'\n"),
            "exact == 1": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W, 2) * gamma\n"
                "    if s == 1:\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "tolerance far too loose": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W, 2) * gamma\n"
                "    if abs(s - 1) < 1e-3:\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "power-iteration estimate": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = power_iteration(W, n_iter=5, rng=np.random.default_rng(0)) * gamma\n"
                "    if np.isclose(s, 1.0, rtol=1e-9, atol=0):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "np.isclose with its default atol=1e-8": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = np.linalg.norm(W, 2) * gamma\n"
                "    if np.isclose(s, 1.0, rtol=1e-9):\n"
                "        return 'bounded'\n"
                "    return 'vanishing' if s < 1 else 'may_explode'\n"),
            "returns a boolean": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    return bool(np.linalg.norm(W, 2) * gamma < 1)\n"),
        },
        correct={
            "singular values, three branches": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = gamma * np.linalg.svd(W, compute_uv=False)[0]\n"
                "    if abs(s - 1.0) <= 1e-9:\n"
                "        return 'bounded'\n"
                "    if s < 1:\n"
                "        return 'vanishing'\n"
                "    return 'may_explode'\n"),
            "lookup by sign": (
                "def gradient_regime(W, gamma=1.0):\n"
                "    s = float(np.linalg.norm(W, ord=2) * gamma)\n"
                "    side = 0 if np.isclose(s, 1, rtol=1e-9, atol=0) else int(np.sign(s - 1))\n"
                "    return {-1: 'vanishing', 0: 'bounded', 1: 'may_explode'}[side]\n"),
        },
    ),
    "max_transient_gain": Answers(
        wrong={
            "k = 0 included": "def max_transient_gain(W, T):\n"
                              "    power, best = np.eye(len(W)), 1.0\n"
                              "    for _ in range(T):\n"
                              "        power = W @ power\n"
                              "        best = max(best, np.linalg.norm(power, 2))\n"
                              "    return float(best)\n",
            "rho ** k": "def max_transient_gain(W, T):\n"
                        "    rho = spectral_radius(W)\n"
                        "    return float(max(rho**k for k in range(1, T + 1)))\n",
            "Frobenius norm": "def max_transient_gain(W, T):\n"
                              "    power, best = np.eye(len(W)), 0.0\n"
                              "    for _ in range(T):\n"
                              "        power = W @ power\n"
                              "        best = max(best, np.linalg.norm(power))\n"
                              "    return float(best)\n",
            "last power missing": "def max_transient_gain(W, T):\n"
                                  "    power, best = W.copy(), np.linalg.norm(W, 2)\n"
                                  "    for _ in range(T - 2):\n"
                                  "        power = W @ power\n"
                                  "        best = max(best, np.linalg.norm(power, 2))\n"
                                  "    return float(best)\n",
            "a 0-d array": "def max_transient_gain(W, T):\n"
                           "    power, best = np.eye(len(W)), np.array(0.0)\n"
                           "    for _ in range(T):\n"
                           "        power = W @ power\n"
                           "        best = np.maximum(best, np.linalg.norm(power, 2))\n"
                           "    return np.array(best)\n",
            "||W|| ** k": "def max_transient_gain(W, T):\n"
                          "    sigma = np.linalg.norm(W, 2)\n"
                          "    return float(max(sigma**k for k in range(1, T + 1)))\n",
        },
        correct={
            "matrix_power": "def max_transient_gain(W, T):\n"
                            "    return max(np.linalg.norm(np.linalg.matrix_power(W, k), 2)\n"
                            "               for k in range(1, T + 1))\n",
            "singular values of each power": "def max_transient_gain(W, T):\n"
                                             "    gains, power = [], W\n"
                                             "    for _ in range(T):\n"
                                             "        gains.append(np.linalg.svd(power, "
                                             "compute_uv=False)[0])\n"
                                             "        power = power @ W\n"
                                             "    return float(max(gains))\n",
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "b": 'knowledge_check = "b"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "ac"\n'},
        correct={"c": 'knowledge_check = "c"\n',
                 "upper case, padded": 'knowledge_check = "C "\n'},
    ),
}
