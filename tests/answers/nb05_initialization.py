"""Wrong and correct answers for 05_initialization (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "05_initialization"

EXERCISES = {
    "xavier_uniform": Answers(
        wrong={
            "bound from fan_in alone": "def xavier_uniform(shape, rng):\n"
                                       "    fan_out, fan_in = shape\n"
                                       "    a = np.sqrt(6.0 / fan_in)\n"
                                       "    return rng.uniform(-a, a, size=shape)\n",
            "transposed shape": "def xavier_uniform(shape, rng):\n"
                                "    fan_out, fan_in = shape\n"
                                "    a = np.sqrt(6.0 / (fan_in + fan_out))\n"
                                "    return rng.uniform(-a, a, size=(fan_in, fan_out))\n",
            "normal with Xavier's variance": "def xavier_uniform(shape, rng):\n"
                                             "    std = np.sqrt(2.0 / (shape[0] + shape[1]))\n"
                                             "    return rng.normal(0.0, std, size=shape)\n",
            "U(0, a)": "def xavier_uniform(shape, rng):\n"
                       "    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n"
                       "    return rng.uniform(0.0, a, size=shape)\n",
            "ignores the rng": "def xavier_uniform(shape, rng):\n"
                               "    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n"
                               "    return np.random.uniform(-a, a, size=shape)\n",
        },
        messages={"ignores the rng": "not reproducible from the rng argument"},
        correct={
            "scaled rng.random": "def xavier_uniform(shape, rng):\n"
                                 "    a = np.sqrt(6.0 / (shape[0] + shape[1]))\n"
                                 "    return a * (2.0 * rng.random(shape) - 1.0)\n",
            "keyword arguments": "import math\n\n"
                                 "def xavier_uniform(shape, rng):\n"
                                 "    fan_out, fan_in = shape\n"
                                 "    a = math.sqrt(6 / (fan_in + fan_out))\n"
                                 "    return rng.uniform(low=-a, high=a, size=(fan_out, fan_in))\n",
        },
    ),
    "he_normal": Answers(
        wrong={
            "variance used as the standard deviation": "def he_normal(shape, rng):\n"
                                                       "    return rng.normal(0.0, 2.0 / shape[1],"
                                                       " size=shape)\n",
            "fan_out instead of fan_in": "def he_normal(shape, rng):\n"
                                         "    return rng.normal(0.0, np.sqrt(2.0 / shape[0]), "
                                         "size=shape)\n",
            "LeCun variance 1/fan_in": "def he_normal(shape, rng):\n"
                                       "    return rng.normal(0.0, np.sqrt(1.0 / shape[1]), "
                                       "size=shape)\n",
            "uniform with He's variance": "def he_normal(shape, rng):\n"
                                          "    b = np.sqrt(6.0 / shape[1])\n"
                                          "    return rng.uniform(-b, b, size=shape)\n",
            "ignores the rng": "def he_normal(shape, rng):\n"
                               "    return np.random.normal(0.0, np.sqrt(2.0 / shape[1]), "
                               "size=shape)\n",
        },
        messages={"ignores the rng": "not reproducible from the rng argument"},
        correct={
            "scaled standard normal": "def he_normal(shape, rng):\n"
                                      "    return np.sqrt(2.0 / shape[1]) * "
                                      "rng.standard_normal(shape)\n",
            "keyword scale": "import math\n\n"
                             "def he_normal(shape, rng):\n"
                             "    fan_out, fan_in = shape\n"
                             "    return rng.normal(scale=math.sqrt(2 / fan_in), "
                             "size=(fan_out, fan_in))\n",
        },
    ),
    "orthogonal": Answers(
        wrong={
            "QR without the sign fix": "def orthogonal(n, rng):\n"
                                       "    q, _ = np.linalg.qr(rng.normal(size=(n, n)))\n"
                                       "    return q\n",
            "QR of a uniform matrix": "def orthogonal(n, rng):\n"
                                      "    q, r = np.linalg.qr(rng.random((n, n)))\n"
                                      "    return q * np.sign(np.diag(r))\n",
            "normalised Gaussian columns": "def orthogonal(n, rng):\n"
                                           "    a = rng.normal(size=(n, n))\n"
                                           "    return a / np.linalg.norm(a, axis=0)\n",
            "ignores the rng": "def orthogonal(n, rng):\n"
                               "    q, r = np.linalg.qr(np.random.normal(size=(n, n)))\n"
                               "    return q * np.sign(np.diag(r))\n",
        },
        messages={"ignores the rng": "not reproducible from the rng argument",
                  "QR without the sign fix": "negative in every draw"},
        correct={
            "polar factor (SVD)": "def orthogonal(n, rng):\n"
                                  "    u, _, vt = np.linalg.svd(rng.normal(size=(n, n)))\n"
                                  "    return u @ vt\n",
            "sign fix as a diagonal matrix": "def orthogonal(n, rng):\n"
                                             "    q, r = np.linalg.qr(rng.standard_normal((n, n)))\n"
                                             "    return q @ np.diag(np.sign(np.diag(r)))\n",
        },
    ),
    "identity_init": Answers(
        wrong={
            "scale ignored": "def identity_init(n, scale=1.0):\n    return np.eye(n)\n",
            "every entry is scale": "def identity_init(n, scale=1.0):\n"
                                    "    return np.full((n, n), float(scale))\n",
            "a vector": "def identity_init(n, scale=1.0):\n    return scale * np.ones(n)\n",
            "integer identity": "def identity_init(n, scale=1.0):\n"
                                "    return np.eye(n, dtype=int) * scale\n",
        },
        messages={"integer identity": "must still give a float array"},
        correct={
            "diag of a full vector": "def identity_init(n, scale=1.0):\n"
                                     "    return np.diag(np.full(n, float(scale)))\n",
            "np.identity": "def identity_init(n, scale=1.0):\n"
                           "    return scale * np.identity(n)\n",
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "not a letter": 'knowledge_check = 2\n'},
        correct={"b": 'knowledge_check = "b"\n', "upper case": 'knowledge_check = "B"\n'},
    ),
}
