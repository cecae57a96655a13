"""Wrong and correct alternative answers for lesson 02 (optimizers)."""
from __future__ import annotations

from tests.corpus import Variant

NB = "solutions/02_optimizers/optimizers.ipynb"
NOTEBOOKS = [NB]


def _v(description, grade_id, source, fails=(), cli=False):
    return Variant(NB, description, {grade_id: source}, tuple(fails), cli)


MSE = """
import numpy as np
def mse_loss_and_grad(theta, X, y):
    theta, X, y = (np.asarray(a, dtype=float) for a in (theta, X, y))
    r = {residual}
    return float({loss}), {grad}
"""


def _mse(residual="X @ theta - y", loss="np.mean(r ** 2)", grad="2.0 / len(y) * X.T @ r"):
    return MSE.format(residual=residual, loss=loss, grad=grad)


LOGLOSS = """
import numpy as np
def log_loss_and_grad(theta, X, y):
    theta, X, y = (np.asarray(a, dtype=float) for a in (theta, X, y))
    z = X @ theta
    p = {p}
    return float({loss}), {grad}
"""


def _logloss(p="1 / (1 + np.exp(-z))", loss="np.mean(np.logaddexp(0, z) - y * z)",
             grad="X.T @ (p - y) / len(y)"):
    return LOGLOSS.format(p=p, loss=loss, grad=grad)


NUMGRAD = """
import numpy as np
def numerical_gradient(f, theta, eps=1e-6):
{body}
"""

GD = """
import numpy as np
def gradient_descent(grad_fn, theta0, lr, n_steps):
{body}
"""

FIX = """
import numpy as np
def fixed_gradient_descent(X, y, theta, alpha, iterations):
{body}
"""

SGD = """
import numpy as np
def minibatch_sgd(X, y, theta0, lr, n_epochs, batch_size, seed):
    X = np.asarray(X, dtype=float); y = np.asarray(y, dtype=float)
    theta = np.array(theta0, dtype=float)
    rng = np.random.default_rng(seed)
    n = len(y)
    out = [theta.copy()]
    order = rng.permutation(n)
    for epoch in range(n_epochs):
{epoch}
        for start in range(0, {stop}, batch_size):
            idx = order[start:start + batch_size]
            Xb, yb = X[idx], y[idx]
            theta = theta - lr * {scale} * Xb.T @ (Xb @ theta - yb)
            out.append(theta.copy())
    return np.array(out)
"""


def _sgd(epoch="        order = rng.permutation(n)", stop="n", scale="2.0 / len(idx)"):
    return SGD.format(epoch=epoch, stop=stop, scale=scale)


MOM = """
import numpy as np
def momentum(grad_fn, theta0, lr, beta, n_steps):
    theta = np.array(theta0, dtype=float)
    v = np.zeros_like(theta)
    out = [theta.copy()]
    for _ in range(n_steps):
{body}
        out.append(theta.copy())
    return np.array(out)
"""

ADAM = """
import numpy as np
def adam(grad_fn, theta0, n_steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    beta1, beta2 = {betas}
    theta = np.array(theta0, dtype=float)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    out = [theta.copy()]
    for t in range({trange}):
        g = np.asarray(grad_fn(theta), dtype=float)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = {m_hat}
        v_hat = {v_hat}
        theta = theta - lr * {step}
        out.append(theta.copy())
    return np.array(out)
"""


def _adam(betas="betas", trange="1, n_steps + 1", m_hat="m / (1 - beta1 ** t)",
          v_hat="v / (1 - beta2 ** t)", step="m_hat / (np.sqrt(v_hat) + eps)"):
    return ADAM.format(betas=betas, trange=trange, m_hat=m_hat, v_hat=v_hat, step=step)


LOGREG = """
import numpy as np
def fit_logistic_regression(X, y, C=1.0, n_steps=1000, lr=0.1):
    X = np.asarray(X, dtype=float); y = np.asarray(y, dtype=float)
    n = len(y)
    Xb = {design}
    def grad(theta):
        _, g = log_loss_and_grad(theta, Xb, y)
        penalty = {penalty}
{intercept}
        return g + penalty
    return adam(grad, np.zeros(Xb.shape[1]), n_steps, lr=lr)[-1]
"""


def _logreg(design="np.c_[np.ones(n), X]", penalty="theta / (C * n)",
            intercept="        penalty[0] = 0.0"):
    return LOGREG.format(design=design, penalty=penalty, intercept=intercept)


WRONG = [
    # 1. MSE
    _v("MSE gradient sign flipped (y - X theta)", "mse_loss_and_grad", _mse(grad="2.0 / len(y) * X.T @ (y - X @ theta)"),
       ["test_mse_basic"], cli=True),
    _v("MSE gradient without the factor 2", "mse_loss_and_grad", _mse(grad="X.T @ r / len(y)"), ["test_mse_basic"]),
    _v("MSE gradient not divided by n", "mse_loss_and_grad", _mse(grad="2.0 * X.T @ r"), ["test_mse_basic"]),
    _v("MSE loss summed instead of averaged", "mse_loss_and_grad", _mse(loss="np.sum(r ** 2)"), ["test_mse_basic"]),
    _v("MSE loss with a 1/2", "mse_loss_and_grad", _mse(loss="0.5 * np.mean(r ** 2)"), ["test_mse_basic"]),
    _v("MSE divided by n - 1", "mse_loss_and_grad",
       _mse(loss="np.sum(r ** 2) / (len(y) - 1)", grad="2.0 / (len(y) - 1) * X.T @ r"), ["test_mse_hidden"]),
    _v("MSE hard-coded to the public example", "mse_loss_and_grad",
       "import numpy as np\ndef mse_loss_and_grad(theta, X, y):\n"
       "    return 0.63, np.array([-0.7, -2.925])", ["test_mse_hidden"]),
    # 2. log-loss
    _v("log-loss via naive log(sigmoid) (overflows)", "log_loss_and_grad",
       _logloss(loss="np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))"), ["test_logloss_stable"]),
    _v("log-loss with probabilities clipped to [1e-15, 1-1e-15]", "log_loss_and_grad",
       _logloss(p="np.clip(1 / (1 + np.exp(-z)), 1e-15, 1 - 1e-15)",
                loss="np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))"), ["test_logloss_stable"]),
    _v("log-loss gradient sign flipped", "log_loss_and_grad", _logloss(grad="X.T @ (y - p) / len(y)"),
       ["test_logloss_basic"]),
    _v("log-loss gradient not divided by n", "log_loss_and_grad", _logloss(grad="X.T @ (p - y)"),
       ["test_logloss_basic"]),
    _v("log-loss gradient with a spurious factor 2", "log_loss_and_grad", _logloss(grad="2 * X.T @ (p - y) / len(y)"),
       ["test_logloss_basic"]),
    # 3. numerical gradient
    _v("forward difference instead of central", "numerical_gradient", NUMGRAD.format(body="""
    theta = np.array(theta, dtype=float)
    g = np.zeros_like(theta)
    for i in range(theta.size):
        s = np.zeros_like(theta); s[i] = eps
        g[i] = (f(theta + s) - f(theta)) / eps
    return g"""), ["test_numgrad_basic"]),
    _v("central difference divided by eps, not 2 eps", "numerical_gradient", NUMGRAD.format(body="""
    theta = np.array(theta, dtype=float)
    g = np.zeros_like(theta)
    for i in range(theta.size):
        s = np.zeros_like(theta); s[i] = eps
        g[i] = (f(theta + s) - f(theta - s)) / eps
    return g"""), ["test_numgrad_basic"]),
    _v("perturbs theta in place (modifies input, int arrays break)", "numerical_gradient", NUMGRAD.format(body="""
    g = np.zeros(len(theta))
    for i in range(len(theta)):
        old = theta[i]
        theta[i] = old + eps
        up = f(theta)
        theta[i] = old - eps
        down = f(theta)
        theta[i] = old + 0 * eps
        g[i] = (up - down) / (2 * eps)
    return g"""), ["test_numgrad_edge"]),
    _v("ignores the eps it is given (a fixed 1e-6)", "numerical_gradient", NUMGRAD.format(body="""
    theta = np.array(theta, dtype=float)
    g = np.zeros_like(theta)
    for i in range(theta.size):
        s = np.zeros_like(theta); s[i] = 1e-6
        g[i] = (f(theta + s) - f(theta - s)) / 2e-6
    return g"""), ["test_numgrad_basic"]),
    _v("perturbs all coordinates at once", "numerical_gradient", NUMGRAD.format(body="""
    theta = np.array(theta, dtype=float)
    d = (f(theta + eps) - f(theta - eps)) / (2 * eps)
    return np.full_like(theta, d)"""), ["test_numgrad_basic"]),
    # 4. gradient descent
    _v("gradient ascent (theta + lr * grad)", "gradient_descent", GD.format(body="""
    theta = np.array(theta0, dtype=float); out = [theta.copy()]
    for _ in range(n_steps):
        theta = theta + lr * grad_fn(theta); out.append(theta.copy())
    return np.array(out)"""), ["test_gd_quadratic", "test_gd_lstsq"]),
    _v("trajectory without theta0 (n_steps rows)", "gradient_descent", GD.format(body="""
    theta = np.array(theta0, dtype=float); out = []
    for _ in range(n_steps):
        theta = theta - lr * grad_fn(theta); out.append(theta.copy())
    return np.array(out)"""), ["test_gd_quadratic"]),
    _v("updates theta0 in place and stores views", "gradient_descent", GD.format(body="""
    theta = np.asarray(theta0, dtype=float); out = [theta]
    for _ in range(n_steps):
        theta -= lr * grad_fn(theta); out.append(theta)
    return np.array(out)"""), ["test_gd_quadratic"]),
    _v("off by one: n_steps - 1 updates", "gradient_descent", GD.format(body="""
    theta = np.array(theta0, dtype=float); out = [theta.copy()]
    for _ in range(n_steps - 1):
        theta = theta - lr * grad_fn(theta); out.append(theta.copy())
    return np.array(out)"""), ["test_gd_quadratic"]),
    _v("calls lifecycle.optim.gd_trajectory", "gradient_descent",
       "from lifecycle.optim import gd_trajectory\n"
       "def gradient_descent(grad_fn, theta0, lr, n_steps):\n"
       "    return gd_trajectory(grad_fn, theta0, lr, n_steps)", ["test_gd_quadratic"]),
    # 5. debug this
    _v("the article's code unchanged (steps up the gradient, in place)", "fixed_gradient_descent", FIX.format(body="""
    m = len(y)
    for i in range(iterations):
        theta -= alpha / m * np.dot(X.T, (y - np.dot(X, theta)))
    return theta"""), ["test_fixed_gd", "test_fixed_gd_hidden"], cli=True),
    _v("sign fixed but theta still updated in place", "fixed_gradient_descent", FIX.format(body="""
    m = len(y)
    for i in range(iterations):
        theta -= alpha / m * np.dot(X.T, (np.dot(X, theta) - y))
    return theta"""), ["test_fixed_gd", "test_fixed_gd_hidden"]),
    _v("copies theta but keeps the wrong sign", "fixed_gradient_descent", FIX.format(body="""
    theta = np.array(theta, dtype=float); m = len(y)
    with np.errstate(all="ignore"):
        for i in range(iterations):
            theta = theta - alpha / m * X.T @ (y - X @ theta)
    return theta"""), ["test_fixed_gd"]),
    _v("flattens theta (loses the column shape)", "fixed_gradient_descent", FIX.format(body="""
    theta = np.array(theta, dtype=float).ravel(); y = np.asarray(y, dtype=float).ravel(); m = len(y)
    for i in range(iterations):
        theta = theta - alpha / m * X.T @ (X @ theta - y)
    return theta"""), ["test_fixed_gd"]),
    # 6. SGD
    _v("no reshuffle: one permutation for all epochs", "minibatch_sgd", _sgd(epoch="        pass"), ["test_sgd_hidden"]),
    _v("never shuffles (data order)", "minibatch_sgd", _sgd(epoch="        order = np.arange(n)"), ["test_sgd_basic"]),
    _v("gradient not divided by the batch size", "minibatch_sgd", _sgd(scale="2.0"), ["test_sgd_basic"]),
    _v("divides by batch_size even for the last partial batch", "minibatch_sgd", _sgd(scale="2.0 / batch_size"),
       ["test_sgd_hidden"]),
    _v("drops the last partial batch", "minibatch_sgd", _sgd(stop="n - batch_size + 1"), ["test_sgd_basic"]),
    _v("a new generator per epoch (same order every epoch)", "minibatch_sgd",
       _sgd(epoch="        order = np.random.default_rng(seed).permutation(n)"), ["test_sgd_hidden"]),
    _v("global np.random instead of default_rng(seed)", "minibatch_sgd",
       _sgd(epoch="        np.random.seed(seed + epoch); order = np.random.permutation(n)"), ["test_sgd_hidden"]),
    # 7. momentum
    _v("EMA momentum v = beta v + (1 - beta) g", "momentum", MOM.format(body="""
        v = beta * v + (1 - beta) * np.asarray(grad_fn(theta), dtype=float)
        theta = theta - lr * v"""), ["test_momentum_basic"]),
    _v("Nesterov look-ahead instead of heavy ball", "momentum", MOM.format(body="""
        v = beta * v + np.asarray(grad_fn(theta - lr * beta * v), dtype=float)
        theta = theta - lr * v"""), ["test_momentum_basic"]),
    _v("theta moved with the old velocity", "momentum", MOM.format(body="""
        theta_new = theta - lr * v
        v = beta * v + np.asarray(grad_fn(theta), dtype=float)
        theta = theta_new"""), ["test_momentum_basic"]),
    _v("beta multiplies the gradient, not the velocity", "momentum", MOM.format(body="""
        v = v + beta * np.asarray(grad_fn(theta), dtype=float)
        theta = theta - lr * v"""), ["test_momentum_basic"]),
    # 8. Adam
    _v("Adam without bias correction (the article's)", "adam", _adam(m_hat="m", v_hat="v"), ["test_adam_constant"],
       cli=True),
    _v("bias correction only on m", "adam", _adam(v_hat="v"), ["test_adam_constant"]),
    _v("bias correction only on v", "adam", _adam(m_hat="m"), ["test_adam_constant"]),
    _v("t starts at 0", "adam", _adam(trange="n_steps"), ["test_adam_constant"]),
    _v("beta1 and beta2 swapped", "adam", _adam(betas="betas[1], betas[0]"), ["test_adam_two_steps"]),
    _v("bias corrections with swapped betas", "adam",
       _adam(m_hat="m / (1 - beta2 ** t)", v_hat="v / (1 - beta1 ** t)"), ["test_adam_constant"]),
    _v("eps inside the square root", "adam", _adam(step="m_hat / np.sqrt(v_hat + eps)"), ["test_adam_constant"]),
    _v("bias correction with t fixed at 1", "adam",
       _adam(m_hat="m / (1 - beta1)", v_hat="v / (1 - beta2)"), ["test_adam_constant"]),
    _v("no square root on v_hat", "adam", _adam(step="m_hat / (v_hat + eps)"), ["test_adam_constant"]),
    _v("ignores the eps it is given (a fixed 1e-8)", "adam", _adam(step="m_hat / (np.sqrt(v_hat) + 1e-8)"),
       ["test_adam_two_steps"]),
    # 9. logistic regression
    _v("no L2 penalty (ignores C)", "fit_logistic_regression", _logreg(penalty="0 * theta", intercept=""),
       ["test_logreg_sklearn"]),
    _v("penalty lambda = 1/C instead of 1/(C n)", "fit_logistic_regression", _logreg(penalty="theta / C"),
       ["test_logreg_sklearn"]),
    _v("intercept penalised too", "fit_logistic_regression", _logreg(intercept=""), ["test_logreg_hidden"]),
    _v("scipy's L-BFGS instead of its own adam", "fit_logistic_regression", """
import numpy as np
from scipy.optimize import minimize
def fit_logistic_regression(X, y, C=1.0, n_steps=1000, lr=0.1):
    X = np.asarray(X, dtype=float); y = np.asarray(y, dtype=float)
    n = len(y)
    Xb = np.c_[np.ones(n), X]
    def objective(theta):
        loss, g = log_loss_and_grad(theta, Xb, y)
        w = theta.copy(); w[0] = 0.0
        return loss + w @ w / (2 * C * n), g + w / (C * n)
    return minimize(objective, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B",
                    options={"maxiter": 10000, "gtol": 1e-10}).x
""", ["test_logreg_hidden"]),
    _v("no intercept column", "fit_logistic_regression",
       _logreg(design="X", intercept="        penalty = penalty + 0").replace(
           "[-1]", "[-1]\n    return np.r_[0.0, theta]").replace(
           "return adam(grad, np.zeros(Xb.shape[1]), n_steps, lr=lr)[-1]\n    return np.r_[0.0, theta]",
           "theta = adam(grad, np.zeros(Xb.shape[1]), n_steps, lr=lr)[-1]\n    return np.r_[0.0, theta]"),
       ["test_logreg_sklearn"]),
    _v("too few steps (50)", "fit_logistic_regression",
       _logreg().replace("n_steps, lr=lr", "50, lr=lr"), ["test_logreg_sklearn"]),
]

RIGHT = [
    _v("MSE with explicit loops over samples", "mse_loss_and_grad", """
def mse_loss_and_grad(theta, X, y):
    n = len(y); d = len(theta)
    loss = 0.0; grad = [0.0] * d
    for i in range(n):
        r = sum(float(X[i][j]) * float(theta[j]) for j in range(d)) - float(y[i])
        loss += r * r / n
        for j in range(d):
            grad[j] += 2 * r * float(X[i][j]) / n
    import numpy as np
    return loss, np.array(grad)
"""),
    _v("MSE in float32", "mse_loss_and_grad", """
import numpy as np
def mse_loss_and_grad(theta, X, y):
    X = np.asarray(X, dtype=np.float64); theta = np.asarray(theta, dtype=np.float64)
    r = (X @ theta - np.asarray(y)).astype(np.float32)
    return float(np.mean(r * r)), (2 / len(r) * X.T.astype(np.float32) @ r)
"""),
    _v("log-loss with scipy.special.expit and logaddexp", "log_loss_and_grad", """
import numpy as np
from scipy.special import expit
def log_loss_and_grad(theta, X, y):
    X = np.asarray(X, float); y = np.asarray(y, float); z = X @ np.asarray(theta, float)
    loss = np.mean(np.where(y == 1, np.logaddexp(0, -z), np.logaddexp(0, z)))
    return float(loss), X.T @ (expit(z) - y) / len(y)
"""),
    _v("numerical gradient with a full perturbation matrix", "numerical_gradient", """
import numpy as np
def numerical_gradient(f, theta, eps=1e-6):
    theta = np.asarray(theta, dtype=float)
    E = np.eye(theta.size) * eps
    return np.array([(f(theta + e) - f(theta - e)) / (2 * eps) for e in E])
"""),
    _v("gradient descent preallocating the trajectory", "gradient_descent", """
import numpy as np
def gradient_descent(grad_fn, theta0, lr, n_steps):
    path = np.zeros((n_steps + 1, len(theta0)))
    path[0] = theta0
    for t in range(n_steps):
        path[t + 1] = path[t] - lr * np.asarray(grad_fn(path[t].copy()))
    return path
"""),
    _v("article fix by negating alpha's direction: theta + alpha/m X^T (y - X theta)", "fixed_gradient_descent", """
import numpy as np
def fixed_gradient_descent(X, y, theta, alpha, iterations):
    theta = theta.astype(float)
    m = len(y)
    for i in range(iterations):
        theta = theta + alpha / m * np.dot(X.T, (y - np.dot(X, theta)))
    return theta
"""),
    _v("SGD with rng.shuffle of an index array and a while loop", "minibatch_sgd", """
import numpy as np
def minibatch_sgd(X, y, theta0, lr, n_epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    theta = np.asarray(theta0, dtype=float).copy()
    out = [theta]
    n = X.shape[0]
    for _ in range(n_epochs):
        idx_all = np.arange(n)
        rng.shuffle(idx_all)
        start = 0
        while start < n:
            idx = idx_all[start:start + batch_size]
            residual = X[idx] @ theta - y[idx]
            theta = theta - lr * (2 * X[idx].T @ residual) / idx.size
            out.append(theta)
            start += batch_size
    return np.vstack(out)
"""),
    _v("momentum in the v = beta v - lr g, theta += v form", "momentum", """
import numpy as np
def momentum(grad_fn, theta0, lr, beta, n_steps):
    theta = np.array(theta0, dtype=float); v = np.zeros_like(theta); out = [theta.copy()]
    for _ in range(n_steps):
        v = beta * v - lr * np.asarray(grad_fn(theta))
        theta = theta + v
        out.append(theta.copy())
    return np.array(out)
"""),
    _v("Adam with in-place moment updates and a bias-correction factor", "adam", """
import numpy as np
def adam(grad_fn, theta0, n_steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    theta = np.array(theta0, dtype=float)
    m = np.zeros_like(theta); v = np.zeros_like(theta)
    out = np.empty((n_steps + 1, theta.size)); out[0] = theta
    for t in range(n_steps):
        g = np.asarray(grad_fn(theta.copy()), dtype=float)
        m *= b1; m += (1 - b1) * g
        v *= b2; v += (1 - b2) * g * g
        step = t + 1
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps
        theta = theta - (lr / (1 - b1 ** step)) * m / denom
        out[t + 1] = theta
    return out
"""),
    _v("logistic regression with weights and bias kept apart", "fit_logistic_regression", """
import numpy as np
def fit_logistic_regression(X, y, C=1.0, n_steps=1000, lr=0.1):
    X = np.asarray(X, float); y = np.asarray(y, float); n, d = X.shape
    def grad(theta):
        b, w = theta[0], theta[1:]
        p = 1 / (1 + np.exp(-(X @ w + b)))
        return np.r_[np.mean(p - y), X.T @ (p - y) / n + w / (C * n)]
    return adam(grad, np.zeros(d + 1), n_steps, lr=lr)[-1]
"""),
    _v("gradient descent in float32", "gradient_descent", """
import numpy as np
def gradient_descent(grad_fn, theta0, lr, n_steps):
    theta = np.array(theta0, dtype=np.float32); out = [theta.copy()]
    for _ in range(n_steps):
        theta = (theta - np.float32(lr) * np.asarray(grad_fn(theta), dtype=np.float32)).astype(np.float32); out.append(theta.copy())
    return np.array(out)
"""),
    _v("momentum in float32", "momentum", """
import numpy as np
def momentum(grad_fn, theta0, lr, beta, n_steps):
    theta = np.array(theta0, dtype=np.float32); v = np.zeros_like(theta); out = [theta.copy()]
    for _ in range(n_steps):
        v = (np.float32(beta) * v + np.asarray(grad_fn(theta), dtype=np.float32)).astype(np.float32)
        theta = (theta - np.float32(lr) * v).astype(np.float32); out.append(theta.copy())
    return np.array(out)
"""),
    _v("Adam entirely in float32", "adam", """
import numpy as np
def adam(grad_fn, theta0, n_steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    f = np.float32
    b1, b2 = f(betas[0]), f(betas[1])
    theta = np.array(theta0, dtype=f); m = np.zeros_like(theta); v = np.zeros_like(theta); out = [theta.copy()]
    for t in range(1, n_steps + 1):
        g = np.asarray(grad_fn(theta), dtype=f)
        m = b1 * m + (f(1) - b1) * g
        v = b2 * v + (f(1) - b2) * g * g
        theta = (theta - f(lr) * (m / (f(1) - b1 ** t)) / (np.sqrt(v / (f(1) - b2 ** t)) + f(eps))).astype(f)
        out.append(theta.copy())
    return np.array(out)
"""),
    _v("mini-batch SGD in float32", "minibatch_sgd", """
import numpy as np
def minibatch_sgd(X, y, theta0, lr, n_epochs, batch_size, seed):
    f = np.float32
    X = np.asarray(X, dtype=f); y = np.asarray(y, dtype=f); theta = np.array(theta0, dtype=f)
    rng = np.random.default_rng(seed); n = len(y); out = [theta.copy()]
    for _ in range(n_epochs):
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            i = order[s:s + batch_size]
            theta = (theta - f(lr) * f(2.0 / len(i)) * X[i].T @ (X[i] @ theta - y[i])).astype(f); out.append(theta.copy())
    return np.array(out)
"""),
]

SMOOTH = """
import numpy as np
def smoothness_constant(X, loss="mse"):
    X = np.asarray(X, dtype=float)
    top = {top}
    if loss == "mse":
        return float({mse})
    if loss == "logistic":
        return float({logistic})
    raise ValueError(loss)
"""


def _smooth(top="np.linalg.eigvalsh(X.T @ X)[-1]", mse="2 * top / len(X)", logistic="top / (4 * len(X))"):
    return SMOOTH.format(top=top, mse=mse, logistic=logistic)


CHOOSE = """
import numpy as np
def choose_learning_rate(X, y, n_steps):
    X = np.asarray(X, dtype=float)
    L = 2 * np.linalg.eigvalsh(X.T @ X)[-1] / len(X)
    return float({lr})
"""

WRONG += [
    _v("fixed GD: a doubled step (2 alpha / m), still converging", "fixed_gradient_descent", FIX.format(body="""
    theta = np.array(theta, dtype=float); y = np.asarray(y, dtype=float); m = len(y)
    for i in range(iterations):
        theta = theta - 2 * alpha / m * X.T @ (X @ theta - y)
    return theta"""), ["test_fixed_gd"]),
    _v("fixed GD: one step too few", "fixed_gradient_descent", FIX.format(body="""
    theta = np.array(theta, dtype=float); y = np.asarray(y, dtype=float); m = len(y)
    for i in range(iterations - 1):
        theta = theta - alpha / m * X.T @ (X @ theta - y)
    return theta"""), ["test_fixed_gd"]),
    _v("smoothness: the 2 of the MSE Hessian lost", "smoothness_constant", _smooth(mse="top / len(X)"),
       ["test_smooth_values", "test_smooth_cliff"]),
    _v("smoothness: not divided by n", "smoothness_constant", _smooth(mse="2 * top"), ["test_smooth_values"]),
    _v("smoothness: the smallest eigenvalue", "smoothness_constant", _smooth(top="np.linalg.eigvalsh(X.T @ X)[0]"),
       ["test_smooth_values", "test_smooth_cliff"]),
    _v("smoothness: the trace instead of the largest eigenvalue", "smoothness_constant", _smooth(top="np.trace(X.T @ X)"),
       ["test_smooth_values", "test_smooth_cliff"]),
    _v("smoothness: log-loss bound without the 1/4", "smoothness_constant", _smooth(logistic="top / len(X)"),
       ["test_smooth_values"]),
    _v("smoothness: the largest singular value, not squared", "smoothness_constant",
       _smooth(top="np.linalg.svd(X, compute_uv=False)[0]"), ["test_smooth_values"]),
    _v("learning rate: just past the cliff, 2.02 / L", "choose_learning_rate", CHOOSE.format(lr="2.02 / L"),
       ["test_choose_lr"]),
    _v("learning rate: exactly 2 / L (oscillates, never settles)", "choose_learning_rate", CHOOSE.format(lr="2 / L"),
       ["test_choose_lr"]),
    _v("learning rate: a fixed 0.1 whatever the data", "choose_learning_rate", CHOOSE.format(lr="0.1"),
       ["test_choose_lr"]),
]
RIGHT += [
    _v("smoothness: largest singular value squared, with a loop-free dict dispatch", "smoothness_constant", """
import numpy as np
def smoothness_constant(X, loss="mse"):
    s = np.linalg.svd(np.asarray(X, dtype=float), compute_uv=False)[0] ** 2 / len(X)
    factors = {"mse": 2.0, "logistic": 0.25}
    if loss not in factors:
        raise ValueError(f"unknown loss {loss!r}")
    return float(factors[loss] * s)
"""),
    _v("learning rate: 1.5 / L", "choose_learning_rate", CHOOSE.format(lr="1.5 / L")),
    _v("learning rate: a search over candidates, run on the data", "choose_learning_rate", """
import numpy as np
def choose_learning_rate(X, y, n_steps):
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    best = None
    for lr in np.geomspace(1e-4, 10, 60):
        theta, losses = np.zeros(X.shape[1]), []
        with np.errstate(all="ignore"):
            for _ in range(n_steps):
                losses.append(np.mean((X @ theta - y) ** 2))
                theta = theta - lr * 2 / len(y) * X.T @ (X @ theta - y)
        if np.all(np.isfinite(losses)) and np.all(np.diff(losses) <= 0):
            best = lr
    return float(best)
"""),
]
