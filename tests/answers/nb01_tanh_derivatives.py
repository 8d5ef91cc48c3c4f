"""Wrong and correct answers for 01_tanh_derivatives (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "01_tanh_derivatives"

EXERCISES = {
    "tanh_derivative": Answers(
        wrong={
            "1 - x**2": "def tanh_derivative(x):\n    return 1 - x**2\n",
            "missing square": "def tanh_derivative(x):\n    return 1 - np.tanh(x)\n",
            "sigmoid pattern": "def tanh_derivative(x):\n"
                               "    return np.tanh(x) * (1 - np.tanh(x))\n",
            "mutates its input": "def tanh_derivative(x):\n"
                                 "    np.tanh(x, out=x)\n"
                                 "    x **= 2\n"
                                 "    return 1 - x\n",
            "a one-element array for a float": "def tanh_derivative(x):\n"
                                               "    return 1 - np.tanh(np.atleast_1d(x)) ** 2\n",
            "math.tanh on scalars only": "import math\n\n"
                                        "def tanh_derivative(x):\n"
                                        "    return 1 - math.tanh(x) ** 2\n",
        },
        correct={
            "difference of squares": "def tanh_derivative(x):\n"
                                     "    t = np.tanh(x)\n"
                                     "    return (1 - t) * (1 + t)\n",
        },
        correct_with_warning={
            # cosh overflows for |x| > 710: numpy warns, but 1/inf**2 is the right 0.0.
            "sech squared": "def tanh_derivative(x):\n    return 1 / np.cosh(x) ** 2\n",
        },
    ),
    "sigmoid_derivative": Answers(
        wrong={
            "naive exp overflows and warns": "def sigmoid_derivative(x):\n"
                                             "    s = 1 / (1 + np.exp(-x))\n"
                                             "    return s * (1 - s)\n",
            "quotient form gives nan": "def sigmoid_derivative(x):\n"
                                       "    e = np.exp(-x)\n"
                                       "    return e / (1 + e) ** 2\n",
            "0.25 * tanh'(x)": "def sigmoid_derivative(x):\n"
                               "    return 0.25 * (1 - np.tanh(x) ** 2)\n",
            "s * (1 + s)": "def sigmoid_derivative(x):\n"
                           "    s = 0.5 * (1 + np.tanh(x / 2))\n"
                           "    return s * (1 + s)\n",
            "a 0-d array for a float": "def sigmoid_derivative(x):\n"
                                       "    s = 0.5 * (1 + np.tanh(np.asarray(x, dtype=float) / 2))\n"
                                       "    return np.array(s * (1 - s))\n",
            "the sigmoid itself": "def sigmoid_derivative(x):\n"
                                  "    return 0.5 * (1 + np.tanh(x / 2))\n",
        },
        correct={
            "0.25 * tanh'(x / 2)": "def sigmoid_derivative(x):\n"
                                   "    return 0.25 * (1 - np.tanh(np.asarray(x) / 2) ** 2)\n",
            "exp of -|x| only": "def sigmoid_derivative(x):\n"
                                "    e = np.exp(-np.abs(x))\n"
                                "    return e / (1 + e) ** 2\n",
        },
    ),
    "relu_derivative": Answers(
        wrong={
            "1 at zero": "def relu_derivative(x):\n    return (x >= 0).astype(float)\n",
            "relu itself": "def relu_derivative(x):\n    return np.maximum(x, 0)\n",
            "sign": "def relu_derivative(x):\n    return np.sign(x)\n",
            "boolean mask": "def relu_derivative(x):\n    return x > 0\n",
        },
        correct={
            "heaviside": "def relu_derivative(x):\n    return np.heaviside(x, 0.0)\n",
            "comparison cast": "def relu_derivative(x):\n    return (x > 0).astype(np.float64)\n",
        },
    ),
    "central_difference": Answers(
        wrong={
            "forward difference": "def central_difference(f, x, eps=1e-5):\n"
                                  "    return (f(x + eps) - f(x)) / eps\n",
            "ignores eps": "def central_difference(f, x, eps=1e-5):\n"
                           "    h = 1e-5\n"
                           "    return (f(x + h) - f(x - h)) / (2 * h)\n",
            "divides by eps": "def central_difference(f, x, eps=1e-5):\n"
                              "    return (f(x + eps) - f(x - eps)) / eps\n",
            "a one-element array for a float": "def central_difference(f, x, eps=1e-5):\n"
                                               "    x = np.atleast_1d(np.asarray(x, dtype=float))\n"
                                               "    return (f(x + eps) - f(x - eps)) / (2 * eps)\n",
            "wrong default step": "def central_difference(f, x, eps=1e-6):\n"
                                  "    return (f(x + eps) - f(x - eps)) / (2 * eps)\n",
            # right numbers, but notebook 02's loss accepts nothing but arrays of theta's shape
            "one stacked call": "def central_difference(f, x, eps=1e-5):\n"
                                "    x = np.asarray(x, dtype=float)\n"
                                "    values = f(np.stack([x + eps, x - eps]))\n"
                                "    return (values[0] - values[1]) / (2 * eps)\n",
        },
        correct={
            "halved twice": "def central_difference(f, x, eps=1e-5):\n"
                            "    upper, lower = f(x + eps), f(x - eps)\n"
                            "    return (upper - lower) / eps / 2\n",
            "named sides, half the difference": "def central_difference(f, x, eps=1e-5):\n"
                                                "    x = np.asarray(x, dtype=float)\n"
                                                "    forward = f(x + eps)\n"
                                                "    backward = f(x - eps)\n"
                                                "    return 0.5 * (forward - backward) / eps\n",
        },
        messages={"one stacked call": "central_difference: how f is called"},
    ),
    "fraction_saturated": Answers(
        wrong={
            "a count": "def fraction_saturated(z, threshold=0.1):\n"
                       "    return float(np.sum(1 - np.tanh(z) ** 2 < threshold))\n",
            "not saturated": "def fraction_saturated(z, threshold=0.1):\n"
                             "    return float(np.mean(1 - np.tanh(z) ** 2 >= threshold))\n",
            "|z| > threshold": "def fraction_saturated(z, threshold=0.1):\n"
                               "    return float(np.mean(np.abs(z) > threshold))\n",
            "threshold ignored": "def fraction_saturated(z, threshold=0.1):\n"
                                 "    return float(np.mean(1 - np.tanh(z) ** 2 < 0.1))\n",
            "a 0-d array, not a float": "def fraction_saturated(z, threshold=0.1):\n"
                                        "    return np.asarray(np.mean(1 - np.tanh(z) ** 2 < threshold))\n",
            "tanh instead of tanh'": "def fraction_saturated(z, threshold=0.1):\n"
                                     "    return float(np.mean(np.tanh(z) < threshold))\n",
        },
        correct={
            "closed-form boundary": "def fraction_saturated(z, threshold=0.1):\n"
                                    "    z = np.asarray(z)\n"
                                    "    edge = np.arctanh(np.sqrt(1 - threshold))\n"
                                    "    return np.count_nonzero(np.abs(z) > edge) / z.size\n",
            "mean of a mask": "def fraction_saturated(z, threshold=0.1):\n"
                              "    return (tanh_derivative(z) < threshold).mean()\n",
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "bc"\n'},
        correct={"b": 'knowledge_check = "b"\n', "upper case, padded":
                 'knowledge_check = " B "\n'},
    ),
}
