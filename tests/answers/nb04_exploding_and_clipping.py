"""Wrong and correct answers for 04_exploding_and_clipping (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "04_exploding_and_clipping"

EXERCISES = {
    "find_divergence": Answers(
        wrong={
            "blind to NaN": "def find_divergence(losses, factor=10.0):\n"
                            "    for i in range(1, len(losses)):\n"
                            "        if losses[i] > factor * min(losses[:i]):\n"
                            "            return i\n"
                            "    return None\n",
            "compares with the first loss": "def find_divergence(losses, factor=10.0):\n"
                                            "    for i in range(1, len(losses)):\n"
                                            "        if not np.isfinite(losses[i]) or "
                                            "losses[i] > factor * losses[0]:\n"
                                            "            return i\n"
                                            "    return None\n",
            "compares with the previous loss": "def find_divergence(losses, factor=10.0):\n"
                                               "    for i in range(1, len(losses)):\n"
                                               "        if not np.isfinite(losses[i]) or "
                                               "losses[i] > factor * losses[i - 1]:\n"
                                               "            return i\n"
                                               "    return None\n",
            "index off by one": "def find_divergence(losses, factor=10.0):\n"
                                "    for i, loss in enumerate(losses[1:]):\n"
                                "        if not np.isfinite(loss) or "
                                "loss > factor * np.min(losses[:i + 1]):\n"
                                "            return i\n"
                                "    return None\n",
            "-1 instead of None": "def find_divergence(losses, factor=10.0):\n"
                                  "    for i in range(1, len(losses)):\n"
                                  "        if not np.isfinite(losses[i]) or "
                                  "losses[i] > factor * np.min(losses[:i]):\n"
                                  "            return i\n"
                                  "    return -1\n",
            "a numpy integer": (
                "def find_divergence(losses, factor=10.0):\n"
                "    losses = np.asarray(losses, dtype=float)\n"
                "    best_before = np.minimum.accumulate(losses)[:-1]\n"
                "    bad = ~np.isfinite(losses[1:]) | (losses[1:] > factor * best_before)\n"
                "    hits = np.flatnonzero(bad)\n"
                "    return hits[0] + 1 if hits.size else None\n"),
            "factor ignored": "def find_divergence(losses, factor=10.0):\n"
                              "    for i in range(1, len(losses)):\n"
                              "        if not np.isfinite(losses[i]) or "
                              "losses[i] > 10 * np.min(losses[:i]):\n"
                              "            return i\n"
                              "    return None\n",
        },
        correct={
            "running minimum": "import math\n\n"
                               "def find_divergence(losses, factor=10.0):\n"
                               "    best = math.inf\n"
                               "    for i, loss in enumerate(losses):\n"
                               "        if i >= 1 and (not math.isfinite(loss) or "
                               "loss > factor * best):\n"
                               "            return i\n"
                               "        best = min(best, loss)\n"
                               "    return None\n",
            "vectorised": "def find_divergence(losses, factor=10.0):\n"
                          "    losses = np.asarray(losses, dtype=float)\n"
                          "    if len(losses) < 2:\n"
                          "        return None\n"
                          "    best_before = np.minimum.accumulate(losses)[:-1]\n"
                          "    bad = ~np.isfinite(losses[1:]) | "
                          "(losses[1:] > factor * best_before)\n"
                          "    hits = np.flatnonzero(bad)\n"
                          "    return int(hits[0]) + 1 if hits.size else None\n",
        },
    ),
    "global_norm": Answers(
        wrong={
            "a torch tensor": (
                "def global_norm(grads):\n"
                "    flat = [torch.as_tensor(g, dtype=torch.float64).ravel() for g in grads]\n"
                "    return torch.linalg.vector_norm(torch.cat(flat))\n"),
            "sum of per-array norms": "def global_norm(grads):\n"
                                      "    return float(sum(np.linalg.norm(g) for g in grads))\n",
            "no square root": "def global_norm(grads):\n"
                              "    return float(sum(np.sum(g**2) for g in grads))\n",
            "largest per-array norm": "def global_norm(grads):\n"
                                      "    return float(max(np.linalg.norm(g) for g in grads))\n",
            "first array only": "def global_norm(grads):\n"
                                "    return float(np.linalg.norm(grads[0]))\n",
            "root mean square": "def global_norm(grads):\n"
                                "    flat = np.concatenate([np.ravel(g) for g in grads])\n"
                                "    return float(np.sqrt(np.mean(flat**2)))\n",
        },
        correct={
            "one concatenated vector": "def global_norm(grads):\n"
                                       "    return np.linalg.norm(np.concatenate("
                                       "[np.ravel(g) for g in grads]))\n",
            "norms of the norms": "import math\n\n"
                                  "def global_norm(grads):\n"
                                  "    return math.sqrt(sum(np.linalg.norm(g) ** 2 "
                                  "for g in grads))\n",
            "dot products": "def global_norm(grads):\n"
                            "    return np.sqrt(sum(np.vdot(g, g) for g in grads))\n",
        },
    ),
    "clip_by_global_norm": Answers(
        wrong={
            "each array by its own norm": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                          "    total = global_norm(grads)\n"
                                          "    clipped = []\n"
                                          "    for g in grads:\n"
                                          "        c = max_norm / (np.linalg.norm(g) + eps)\n"
                                          "        clipped.append(g * c if c < 1 else g.copy())\n"
                                          "    return clipped, total\n",
            "rescales below the threshold": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                            "    total = global_norm(grads)\n"
                                            "    return [g * (max_norm / (total + eps)) "
                                            "for g in grads], total\n",
            "mutates the caller's arrays": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                           "    total = global_norm(grads)\n"
                                           "    coefficient = max_norm / (total + eps)\n"
                                           "    if coefficient < 1:\n"
                                           "        for g in grads:\n"
                                           "            g *= coefficient\n"
                                           "    return list(grads), total\n",
            "NaN on zero gradients": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                     "    total = global_norm(grads)\n"
                                     "    target = min(total, max_norm)\n"
                                     "    return [g / total * target for g in grads], total\n",
            "returns the clipped norm": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                        "    total = global_norm(grads)\n"
                                        "    coefficient = min(1.0, max_norm / (total + eps))\n"
                                        "    clipped = [g * coefficient for g in grads]\n"
                                        "    return clipped, global_norm(clipped)\n",
            "the caller's arrays below the threshold": (
                "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                "    total = global_norm(grads)\n"
                "    coefficient = max_norm / (total + eps)\n"
                "    if coefficient < 1:\n"
                "        return [g * coefficient for g in grads], total\n"
                "    return list(grads), total\n"),
            "eps ignored": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                           "    total = global_norm(grads)\n"
                           "    if total > max_norm:\n"
                           "        return [g * (max_norm / total) for g in grads], total\n"
                           "    return [g.copy() for g in grads], total\n",
        },
        correct={
            "clamped coefficient": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                   "    total = float(np.sqrt(sum(np.sum(np.square(g)) "
                                   "for g in grads)))\n"
                                   "    coefficient = min(1.0, max_norm / (total + eps))\n"
                                   "    return [np.asarray(g) * coefficient for g in grads], "
                                   "total\n",
            "branch on the norm": "def clip_by_global_norm(grads, max_norm, eps=1e-6):\n"
                                  "    total = global_norm(grads)\n"
                                  "    if total + eps > max_norm:\n"
                                  "        scale = max_norm / (total + eps)\n"
                                  "        return [scale * g for g in grads], total\n"
                                  "    return [g.copy() for g in grads], total\n",
        },
    ),
    "clip_by_value": Answers(
        wrong={
            "clips in place": (
                "def clip_by_value(grads, clip_value):\n"
                "    return [np.clip(g, -clip_value, clip_value, out=g) for g in grads]\n"),
            "upper bound only": "def clip_by_value(grads, clip_value):\n"
                                "    return [np.minimum(g, clip_value) for g in grads]\n",
            "first array only": "def clip_by_value(grads, clip_value):\n"
                                "    return [np.clip(grads[0], -clip_value, clip_value)] + "
                                "list(grads[1:])\n",
            "each array by its norm": "def clip_by_value(grads, clip_value):\n"
                                      "    return [g * min(1.0, clip_value / np.linalg.norm(g)) "
                                      "for g in grads]\n",
            "mutates the caller's arrays": "def clip_by_value(grads, clip_value):\n"
                                           "    return [np.clip(g, -clip_value, clip_value, out=g) "
                                           "for g in grads]\n",
            "clip_value ignored": "def clip_by_value(grads, clip_value):\n"
                                  "    return [np.clip(g, -1.0, 1.0) for g in grads]\n",
        },
        correct={
            "maximum then minimum": "def clip_by_value(grads, clip_value):\n"
                                    "    return [np.minimum(np.maximum(g, -clip_value), "
                                    "clip_value) for g in grads]\n",
            "where and sign": "def clip_by_value(grads, clip_value):\n"
                              "    return [np.where(np.abs(g) > clip_value, "
                              "np.sign(g) * clip_value, g) for g in grads]\n",
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "bc"\n'},
        correct={"b": 'knowledge_check = "b"\n',
                 "upper case, padded": 'knowledge_check = " B "\n'},
    ),
}
