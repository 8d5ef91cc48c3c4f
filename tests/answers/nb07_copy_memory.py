"""Wrong and correct answers for 07_copy_memory (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "07_copy_memory"


def _batch(symbols: str, delimiter_at: str = "n_symbols + delay - 1",
           delimiter: str = "n_categories + 1", copy_from: str = "delay + n_symbols",
           dtype: str = "np.int64", rng: str = "np.random.default_rng() if rng is None else rng"
           ) -> str:
    return ("def make_copy_batch(batch_size, delay, n_symbols=10, n_categories=8, rng=None):\n"
            f"    rng = {rng}\n"
            "    length = delay + 2 * n_symbols\n"
            f"    symbols = {symbols}\n"
            f"    inputs = np.zeros((batch_size, length), dtype={dtype})\n"
            f"    targets = np.zeros((batch_size, length), dtype={dtype})\n"
            "    inputs[:, :n_symbols] = symbols\n"
            f"    inputs[:, {delimiter_at}] = {delimiter}\n"
            f"    targets[:, {copy_from}:{copy_from} + n_symbols] = symbols\n"
            "    return inputs, targets\n")


_SYMBOLS = "rng.integers(1, n_categories + 1, size=(batch_size, n_symbols))"


def _baseline(body: str) -> str:
    return ("def copy_baseline_loss(delay, n_symbols=10, n_categories=8):\n"
            f"    return {body}\n")


def _recall(body: str) -> str:
    return ("def recall_accuracy(logits, targets, n_symbols):\n"
            + "".join(f"    {line}\n" for line in body.strip().splitlines()))


EXERCISES = {
    "make_copy_batch": Answers(
        wrong={
            "the delimiter one step late": _batch(_SYMBOLS, delimiter_at="n_symbols + delay"),
            "symbols drawn from 0": _batch(
                "rng.integers(0, n_categories, size=(batch_size, n_symbols))"),
            "symbols 1..7 (exclusive upper end)": _batch(
                "rng.integers(1, n_categories, size=(batch_size, n_symbols))"),
            "the copy one step early": _batch(_SYMBOLS, copy_from="delay + n_symbols - 1"),
            "float arrays": _batch(_SYMBOLS, dtype="float"),
            "a hard-coded delimiter 9": _batch(_SYMBOLS, delimiter="9"),
            "ignores rng": _batch(_SYMBOLS, rng="np.random.default_rng()"),
        },
        messages={"ignores rng": "not reproducible from the rng argument"},
        correct={
            "choice and concatenate":
                "def make_copy_batch(batch_size, delay, n_symbols=10, n_categories=8, rng=None):\n"
                "    if rng is None:\n"
                "        rng = np.random.default_rng()\n"
                "    symbols = rng.choice(np.arange(1, n_categories + 1),\n"
                "                         size=(batch_size, n_symbols))\n"
                "    blanks = np.zeros((batch_size, delay - 1), dtype=np.int64)\n"
                "    cue = np.full((batch_size, 1), n_categories + 1)\n"
                "    tail = np.zeros((batch_size, n_symbols), dtype=np.int64)\n"
                "    inputs = np.concatenate([symbols, blanks, cue, tail], axis=1)\n"
                "    targets = np.concatenate(\n"
                "        [np.zeros((batch_size, delay + n_symbols), dtype=np.int64), symbols],\n"
                "        axis=1)\n"
                "    return inputs.astype(np.int64), targets.astype(np.int64)\n",
            "pad": "def make_copy_batch(batch_size, delay, n_symbols=10, n_categories=8, rng=None):\n"
                   "    rng = rng if rng is not None else np.random.default_rng()\n"
                   "    symbols = rng.integers(1, n_categories, size=(batch_size, n_symbols),\n"
                   "                           endpoint=True).astype(np.int64)\n"
                   "    inputs = np.pad(symbols, ((0, 0), (0, delay + n_symbols)))\n"
                   "    inputs[:, n_symbols + delay - 1] = n_categories + 1\n"
                   "    targets = np.pad(symbols, ((0, 0), (delay + n_symbols, 0)))\n"
                   "    return inputs, targets\n",
        },
    ),
    "copy_baseline_loss": Answers(
        wrong={
            "log base 2": _baseline(
                "float(n_symbols * np.log2(n_categories) / (delay + 2 * n_symbols))"),
            "ln of all 10 tokens": _baseline(
                "float(n_symbols * np.log(n_categories + 2) / (delay + 2 * n_symbols))"),
            "divided by delay + n_symbols": _baseline(
                "float(n_symbols * np.log(n_categories) / (delay + n_symbols))"),
            "not averaged": _baseline("float(n_symbols * np.log(n_categories))"),
            "divided by the delay": _baseline("float(n_symbols * np.log(n_categories) / delay)"),
            "a 0-d array, not a float": _baseline(
                "np.array(n_symbols * np.log(n_categories) / (delay + 2 * n_symbols))"),
        },
        messages={"a 0-d array, not a float": "should return a Python float"},
        correct={
            "math.log": "import math\n\n" + _baseline(
                "n_symbols * math.log(n_categories) / (delay + 2 * n_symbols)"),
            "minus log of the uniform probability":
                "def copy_baseline_loss(delay, n_symbols=10, n_categories=8):\n"
                "    per_copy_position = -np.log(1.0 / n_categories)\n"
                "    share = n_symbols / (delay + 2 * n_symbols)\n"
                "    return float(share * per_copy_position)\n",
        },
    ),
    "recall_accuracy": Answers(
        wrong={
            "accuracy over all positions": _recall("""
return (logits.argmax(dim=-1) == targets).float().mean().item()
"""),
            "the first n_symbols positions": _recall("""
return (logits[:, :n_symbols].argmax(dim=-1) == targets[:, :n_symbols]).float().mean().item()
"""),
            "one position early": _recall("""
window = slice(-n_symbols - 1, -1)
return (logits[:, window].argmax(dim=-1) == targets[:, window]).float().mean().item()
"""),
            "a percentage": _recall("""
hits = logits[:, -n_symbols:].argmax(dim=-1) == targets[:, -n_symbols:]
return 100 * hits.float().mean().item()
"""),
            "argmax over the time axis": _recall("""
predictions = logits.argmax(dim=1)[:, -n_symbols:]
return (predictions == targets[:, -n_symbols:]).float().mean().item()
"""),
            "a tensor, not a float": _recall("""
predictions = logits[:, -n_symbols:].argmax(dim=-1)
return (predictions == targets[:, -n_symbols:]).float().mean()
"""),
        },
        messages={"a tensor, not a float": "should return a Python float"},
        correct={
            "count over total": _recall("""
predictions = logits.argmax(dim=-1)[:, -n_symbols:]
hits = (predictions == targets[:, -n_symbols:]).sum().item()
return hits / predictions.numel()
"""),
            "numpy": _recall("""
predictions = logits.detach().numpy()[:, -n_symbols:].argmax(axis=-1)
return float(np.mean(predictions == np.asarray(targets)[:, -n_symbols:]))
"""),
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "ab"\n'},
        correct={"b": 'knowledge_check = "b"\n',
                 "upper case": 'knowledge_check = "B"\n'},
    ),
}
