"""Wrong and correct answers for 02_jacobian_products (each replaces the whole solution cell)."""

from tests.harness import Answers

ASSIGNMENT = "02_jacobian_products"

EXERCISES = {
    "rnn_forward": Answers(
        wrong={
            "W_hh transposed": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                               "    H = np.zeros((len(X) + 1, len(h0)))\n"
                               "    H[0] = h0\n"
                               "    for t in range(1, len(X) + 1):\n"
                               "        H[t] = np.tanh(W_xh @ X[t - 1] + H[t - 1] @ W_hh + b)\n"
                               "    return H\n",
            "h0 left out": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                           "    h, H = h0, []\n"
                           "    for x in X:\n"
                           "        h = np.tanh(W_xh @ x + W_hh @ h + b)\n"
                           "        H.append(h)\n"
                           "    return np.array(H)\n",
            "last step never computed": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                                        "    H = np.zeros((len(X) + 1, len(h0)))\n"
                                        "    H[0] = h0\n"
                                        "    for t in range(1, len(X)):\n"
                                        "        H[t] = np.tanh(W_xh @ X[t - 1] + W_hh @ H[t - 1]"
                                        " + b)\n"
                                        "    return H\n",
            "no tanh": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                       "    H = np.zeros((len(X) + 1, len(h0)))\n"
                       "    H[0] = h0\n"
                       "    for t in range(1, len(X) + 1):\n"
                       "        H[t] = W_xh @ X[t - 1] + W_hh @ H[t - 1] + b\n"
                       "    return H\n",
            "overwrites h0": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                             "    h, H = h0, [h0.copy()]\n"
                             "    for x in X:\n"
                             "        h[:] = np.tanh(W_xh @ x + W_hh @ h + b)\n"
                             "        H.append(h.copy())\n"
                             "    return np.array(H)\n",
        },
        correct={
            "list of states": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                              "    states = [np.asarray(h0, dtype=float)]\n"
                              "    for x in X:\n"
                              "        states.append(np.tanh(W_xh @ x + W_hh @ states[-1] + b))\n"
                              "    return np.stack(states)\n",
            "row vectors, inputs projected once": "def rnn_forward(X, h0, W_xh, W_hh, b):\n"
                                                  "    drive = X @ W_xh.T + b\n"
                                                  "    H = np.zeros((len(X) + 1, len(h0)))\n"
                                                  "    H[0] = h0\n"
                                                  "    for t, a in enumerate(drive, start=1):\n"
                                                  "        H[t] = np.tanh(a + H[t - 1] @ W_hh.T)\n"
                                                  "    return H\n",
        },
    ),
    "step_jacobian": Answers(
        wrong={
            "(1 - h**2) * W_hh scales columns": "def step_jacobian(h_t, W_hh):\n"
                                                "    return (1 - h_t**2) * W_hh\n",
            "W_hh transposed": "def step_jacobian(h_t, W_hh):\n"
                               "    return np.diag(1 - h_t**2) @ W_hh.T\n",
            "tanh applied twice": "def step_jacobian(h_t, W_hh):\n"
                                  "    return np.diag(1 - np.tanh(h_t) ** 2) @ W_hh\n",
            "elementwise diag": "def step_jacobian(h_t, W_hh):\n"
                                "    return np.diag(1 - h_t**2) * W_hh\n",
            "Jacobian times diag": "def step_jacobian(h_t, W_hh):\n"
                                   "    return W_hh @ np.diag(1 - h_t**2)\n",
        },
        correct={
            "diag matrix product": "def step_jacobian(h_t, W_hh):\n"
                                   "    return np.diag(1 - h_t**2) @ W_hh\n",
            "einsum": "def step_jacobian(h_t, W_hh):\n"
                      "    return np.einsum('i,ij->ij', 1 - h_t * h_t, W_hh)\n",
        },
    ),
    "jacobian_product": Answers(
        wrong={
            "wrong order": "def jacobian_product(H, W_hh, k, t):\n"
                           "    if k > t:\n"
                           "        raise ValueError('k > t')\n"
                           "    P = np.eye(len(W_hh))\n"
                           "    for s in range(k + 1, t + 1):\n"
                           "        P = P @ step_jacobian(H[s], W_hh)\n"
                           "    return P\n",
            "off by one in the state": "def jacobian_product(H, W_hh, k, t):\n"
                                       "    if k > t:\n"
                                       "        raise ValueError('k > t')\n"
                                       "    P = np.eye(len(W_hh))\n"
                                       "    for s in range(k + 1, t + 1):\n"
                                       "        P = step_jacobian(H[s - 1], W_hh) @ P\n"
                                       "    return P\n",
            "one factor too many": "def jacobian_product(H, W_hh, k, t):\n"
                                   "    if k > t:\n"
                                   "        raise ValueError('k > t')\n"
                                   "    P = np.eye(len(W_hh))\n"
                                   "    for s in range(max(k, 1), t + 1):\n"
                                   "        P = step_jacobian(H[s], W_hh) @ P\n"
                                   "    return P\n",
            "transposed factors": "def jacobian_product(H, W_hh, k, t):\n"
                                  "    if k > t:\n"
                                  "        raise ValueError('k > t')\n"
                                  "    P = np.eye(len(W_hh))\n"
                                  "    for s in range(k + 1, t + 1):\n"
                                  "        P = step_jacobian(H[s], W_hh).T @ P\n"
                                  "    return P\n",
            "no ValueError": "def jacobian_product(H, W_hh, k, t):\n"
                             "    P = np.eye(len(W_hh))\n"
                             "    for s in range(k + 1, t + 1):\n"
                             "        P = step_jacobian(H[s], W_hh) @ P\n"
                             "    return P\n",
        },
        correct={
            "reduce from the left": "import functools\n\n"
                                    "def jacobian_product(H, W_hh, k, t):\n"
                                    "    if k > t:\n"
                                    "        raise ValueError(f'need k <= t, got k={k}, t={t}')\n"
                                    "    factors = [step_jacobian(H[s], W_hh) "
                                    "for s in range(t, k, -1)]\n"
                                    "    return functools.reduce(np.matmul, factors, "
                                    "np.eye(len(W_hh)))\n",
            "recursion": "def jacobian_product(H, W_hh, k, t):\n"
                         "    if k > t:\n"
                         "        raise ValueError('k must not exceed t')\n"
                         "    if k == t:\n"
                         "        return np.eye(W_hh.shape[0])\n"
                         "    return step_jacobian(H[t], W_hh) @ jacobian_product(H, W_hh, k, "
                         "t - 1)\n",
        },
    ),
    "hidden_grad_norms": Answers(
        wrong={
            "J instead of J.T": "def hidden_grad_norms(H, W_hh, g_T):\n"
                                "    T = len(H) - 1\n"
                                "    norms, g = np.zeros(T + 1), g_T\n"
                                "    norms[T] = np.linalg.norm(g)\n"
                                "    for t in range(T, 0, -1):\n"
                                "        g = (1 - H[t] ** 2) * (W_hh @ g)\n"
                                "        norms[t - 1] = np.linalg.norm(g)\n"
                                "    return norms\n",
            "off by one: H[t-1]": "def hidden_grad_norms(H, W_hh, g_T):\n"
                                  "    T = len(H) - 1\n"
                                  "    norms, g = np.zeros(T + 1), g_T\n"
                                  "    norms[T] = np.linalg.norm(g)\n"
                                  "    for t in range(T, 0, -1):\n"
                                  "        g = W_hh.T @ ((1 - H[t - 1] ** 2) * g)\n"
                                  "        norms[t - 1] = np.linalg.norm(g)\n"
                                  "    return norms\n",
            "reversed order": "def hidden_grad_norms(H, W_hh, g_T):\n"
                              "    g, norms = g_T, [np.linalg.norm(g_T)]\n"
                              "    for t in range(len(H) - 1, 0, -1):\n"
                              "        g = W_hh.T @ ((1 - H[t] ** 2) * g)\n"
                              "        norms.append(np.linalg.norm(g))\n"
                              "    return np.array(norms)\n",
            "one Jacobian product per step (d x d matrix products)": (
                "def hidden_grad_norms(H, W_hh, g_T):\n"
                "    T = len(H) - 1\n"
                "    return np.array([np.linalg.norm(jacobian_product(H, W_hh, t, T).T @ g_T)\n"
                "                     for t in range(T + 1)])\n"),
            "diag(...) @ W_hh every step": (
                "def hidden_grad_norms(H, W_hh, g_T):\n"
                "    g, norms = g_T, [np.linalg.norm(g_T)]\n"
                "    for t in range(len(H) - 1, 0, -1):\n"
                "        g = (np.diag(1 - H[t] ** 2) @ W_hh).T @ g\n"
                "        norms.append(np.linalg.norm(g))\n"
                "    return np.array(norms[::-1])\n"),
            "h_0 missing": "def hidden_grad_norms(H, W_hh, g_T):\n"
                           "    T = len(H) - 1\n"
                           "    norms, g = np.zeros(T), g_T\n"
                           "    for t in range(T, 0, -1):\n"
                           "        norms[t - 1] = np.linalg.norm(g)\n"
                           "        g = W_hh.T @ ((1 - H[t] ** 2) * g)\n"
                           "    return norms\n",
        },
        correct={
            "row vectors, reversed at the end": "def hidden_grad_norms(H, W_hh, g_T):\n"
                                                "    g = np.array(g_T, dtype=float)\n"
                                                "    out = [np.linalg.norm(g)]\n"
                                                "    for h in H[:0:-1]:\n"
                                                "        g = ((1 - h**2) * g) @ W_hh\n"
                                                "        out.append(np.linalg.norm(g))\n"
                                                "    return np.array(out[::-1])\n",
            "sqrt of dot": "def hidden_grad_norms(H, W_hh, g_T):\n"
                           "    T = H.shape[0] - 1\n"
                           "    g, norms = g_T.copy(), np.empty(T + 1)\n"
                           "    for t in range(T, -1, -1):\n"
                           "        norms[t] = np.sqrt(g @ g)\n"
                           "        if t > 0:\n"
                           "            g = W_hh.T @ (g - g * H[t] ** 2)\n"
                           "    return norms\n",
        },
    ),
    "rnn_backward": Answers(
        wrong={
            "forgets the gradient from later steps": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)\n"
                "    db, dh0 = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta_a = (1 - H[t] ** 2) * dH[t - 1]\n"
                "        dW_xh += np.outer(delta_a, X[t - 1])\n"
                "        dW_hh += np.outer(delta_a, H[t - 1])\n"
                "        db += delta_a\n"
                "        dh0 = W_hh.T @ delta_a\n"
                "    return dW_xh, dW_hh, db, dh0\n"),
            "off by one: outer with H[t]": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)\n"
                "    db, carry = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta_a = (1 - H[t] ** 2) * (dH[t - 1] + carry)\n"
                "        dW_xh += np.outer(delta_a, X[t - 1])\n"
                "        dW_hh += np.outer(delta_a, H[t])\n"
                "        db += delta_a\n"
                "        carry = W_hh.T @ delta_a\n"
                "    return dW_xh, dW_hh, db, carry\n"),
            "W_hh instead of W_hh.T": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)\n"
                "    db, carry = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta_a = (1 - H[t] ** 2) * (dH[t - 1] + carry)\n"
                "        dW_xh += np.outer(delta_a, X[t - 1])\n"
                "        dW_hh += np.outer(delta_a, H[t - 1])\n"
                "        db += delta_a\n"
                "        carry = W_hh @ delta_a\n"
                "    return dW_xh, dW_hh, db, carry\n"),
            "transposed weight gradients": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros(W_xh.shape[::-1]), np.zeros_like(W_hh)\n"
                "    db, carry = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta_a = (1 - H[t] ** 2) * (dH[t - 1] + carry)\n"
                "        dW_xh += np.outer(X[t - 1], delta_a)\n"
                "        dW_hh += np.outer(H[t - 1], delta_a)\n"
                "        db += delta_a\n"
                "        carry = W_hh.T @ delta_a\n"
                "    return dW_xh, dW_hh, db, carry\n"),
            # Issue 15 item 1: the gradients are right, but dH is changed in place; the visible
            # test says "rnn_backward (argument dH): modified its input array".
            "adds into dH in place": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)\n"
                "    db, from_later = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta = dH[t - 1]\n"
                "        delta += from_later\n"
                "        delta_a = (1 - H[t] ** 2) * delta\n"
                "        dW_xh += np.outer(delta_a, X[t - 1])\n"
                "        dW_hh += np.outer(delta_a, H[t - 1])\n"
                "        db += delta_a\n"
                "        from_later = W_hh.T @ delta_a\n"
                "    return dW_xh, dW_hh, db, from_later\n"),
            "returns a list": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    T, d = dH.shape\n"
                "    deltas, carry = np.zeros((T, d)), np.zeros(d)\n"
                "    for t in reversed(range(T)):\n"
                "        deltas[t] = (1 - H[t + 1] ** 2) * (dH[t] + carry)\n"
                "        carry = W_hh.T @ deltas[t]\n"
                "    return [deltas.T @ X, deltas.T @ H[:-1], deltas.sum(axis=0), carry]\n"),
            "tanh' at the wrong step": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    dW_xh, dW_hh = np.zeros_like(W_xh), np.zeros_like(W_hh)\n"
                "    db, carry = np.zeros(len(W_hh)), np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        delta_a = (1 - H[t - 1] ** 2) * (dH[t - 1] + carry)\n"
                "        dW_xh += np.outer(delta_a, X[t - 1])\n"
                "        dW_hh += np.outer(delta_a, H[t - 1])\n"
                "        db += delta_a\n"
                "        carry = W_hh.T @ delta_a\n"
                "    return dW_xh, dW_hh, db, carry\n"),
        },
        correct={
            "deltas first, sums as matrix products": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    T, d = dH.shape\n"
                "    deltas, carry = np.zeros((T, d)), np.zeros(d)\n"
                "    for t in reversed(range(T)):\n"
                "        deltas[t] = (1 - H[t + 1] ** 2) * (dH[t] + carry)\n"
                "        carry = W_hh.T @ deltas[t]\n"
                "    return deltas.T @ X, deltas.T @ H[:-1], deltas.sum(axis=0), carry\n"),
            "row vectors": (
                "def rnn_backward(X, H, W_xh, W_hh, dH):\n"
                "    grads = [np.zeros(W_xh.shape), np.zeros(W_hh.shape), np.zeros(len(W_hh))]\n"
                "    g = np.zeros(len(W_hh))\n"
                "    for t in range(len(X), 0, -1):\n"
                "        g = g + dH[t - 1]\n"
                "        da = g * (1 - H[t]) * (1 + H[t])\n"
                "        grads[0] += da[:, None] * X[t - 1][None, :]\n"
                "        grads[1] += da[:, None] * H[t - 1][None, :]\n"
                "        grads[2] += da\n"
                "        g = da @ W_hh\n"
                "    return grads[0], grads[1], grads[2], g\n"),
        },
        messages={"adds into dH in place": "rnn_backward (argument dH): modified its input"},
    ),
    "numerical_gradient": Answers(
        wrong={
            "forward difference": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        step = np.zeros(theta.shape)\n"
                "        step[i] = eps\n"
                "        grad[i] = (loss(theta + step) - loss(theta)) / eps\n"
                "    return grad\n"),
            "divides by eps": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        step = np.zeros(theta.shape)\n"
                "        step[i] = eps\n"
                "        grad[i] = (loss(theta + step) - loss(theta - step)) / eps\n"
                "    return grad\n"),
            "eps ignored": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        step = np.zeros(theta.shape)\n"
                "        step[i] = 1e-5\n"
                "        grad[i] = (loss(theta + step) - loss(theta - step)) / 2e-5\n"
                "    return grad\n"),
            "every entry at once": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    return (loss(theta + eps) - loss(theta - eps)) / (2 * eps)\n"),
            "nudges theta in place and never restores it": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        theta[i] += eps\n"
                "        up = loss(theta)\n"
                "        theta[i] -= 2 * eps\n"
                "        grad[i] = (up - loss(theta)) / (2 * eps)\n"
                "    return grad\n"),
            "flattened: loss sees a vector": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    flat = theta.ravel().astype(float)\n"
                "    grad = np.zeros(flat.size)\n"
                "    for i in range(flat.size):\n"
                "        step = np.zeros(flat.size)\n"
                "        step[i] = eps\n"
                "        grad[i] = (loss(flat + step) - loss(flat - step)) / (2 * eps)\n"
                "    return grad.reshape(theta.shape)\n"),
            "central_difference on a stacked array": (
                "def central_difference(f, x, eps=1e-5):\n"
                "    x = np.asarray(x, dtype=float)\n"
                "    values = f(np.stack([x + eps, x - eps]))\n"
                "    return (values[0] - values[1]) / (2 * eps)\n\n\n"
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        unit = np.zeros(theta.shape)\n"
                "        unit[i] = 1.0\n"
                "        grad[i] = central_difference(lambda s: loss(theta + s * unit), 0.0, eps)\n"
                "    return grad\n"),
            "an extra call at theta": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    loss(theta)\n"
                "    for i in np.ndindex(theta.shape):\n"
                "        step = np.zeros(theta.shape)\n"
                "        step[i] = eps\n"
                "        grad[i] = (loss(theta + step) - loss(theta - step)) / (2 * eps)\n"
                "    return grad\n"),
        },
        # (a stacked central_difference fails in its own code here: a scalar loss has no [0];
        # notebook 01's visible test already tells it how f must be called)
        messages={"an extra call at theta": "numerical_gradient: how loss is called"},
        correct={
            "CS231n: nudge in place, restore the saved value": (
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    grad = np.zeros(theta.shape)\n"
                "    it = np.nditer(theta, flags=['multi_index'])\n"
                "    while not it.finished:\n"
                "        i = it.multi_index\n"
                "        saved = theta[i]\n"
                "        theta[i] = saved + eps\n"
                "        up = loss(theta)\n"
                "        theta[i] = saved - eps\n"
                "        down = loss(theta)\n"
                "        theta[i] = saved\n"
                "        grad[i] = (up - down) / (2 * eps)\n"
                "        it.iternext()\n"
                "    return grad\n"),
            "with central_difference, along unit arrays": (
                "def central_difference(f, x, eps=1e-5):\n"
                "    return (f(x + eps) - f(x - eps)) / (2 * eps)\n\n\n"
                "def numerical_gradient(loss, theta, eps=1e-5):\n"
                "    units = np.eye(theta.size).reshape((theta.size, *theta.shape))\n"
                "    return np.array([central_difference(lambda s, e=e: loss(theta + s * e), 0.0,\n"
                "                                        eps) for e in units]).reshape(theta.shape)\n"),
        },
    ),
    "knowledge_check": Answers(
        wrong={"a": 'knowledge_check = "a"\n', "c": 'knowledge_check = "c"\n',
               "d": 'knowledge_check = "d"\n', "two letters": 'knowledge_check = "bd"\n'},
        correct={"b": 'knowledge_check = "b"\n',
                 "upper case, padded": 'knowledge_check = " B "\n'},
    ),
}
