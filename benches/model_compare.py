#!/usr/bin/env python3
"""Logistic regression with 10 features: Persona vs statsmodels and scikit-learn on the demo lake's
credit snapshots (issue 19). Not a test. Needs a release build (`cargo build --release`) and GNU time.

    python benches/model_compare.py [--scales 1000000] [--months 1] [--runs 1] [--persona BIN]

The workload: `default_12m` on ten features of `credit_scores` (seven columns, ln income, utilisation
squared, age x debt-to-income) over the last --months snapshot months (0 = every month), with an
intercept, unpenalised. Persona: `logistic_regression` in one SQL statement in a fresh process.
statsmodels: `Logit(...).fit(method='newton')`; scikit-learn: `LogisticRegression(penalty=None,
solver=...)` with --solvers (default 'newton-cholesky'; 'lbfgs' on unscaled features took 606 s at 1M rows); both read the same Parquet files with pyarrow and build the
feature matrix with numpy (their phases are printed). The coefficients are printed for comparison.
The lakes are duckdb_compare.py's cached ones (same seed).
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duckdb_compare as harness  # noqa: E402

PACKAGES = ['statsmodels', 'scikit-learn', 'pandas', 'pyarrow', 'numpy']
FEATURES = ('age, monthly_income, debt_to_income, credit_utilization, num_open_loans, overdue_count_12m, '
            'app_logins_30d, ln(monthly_income), credit_utilization * credit_utilization, age * debt_to_income')


def persona_sql(months):
    where = '' if months == 0 else (
        f"WHERE snapshot_month > (SELECT max(snapshot_month) FROM credit_scores) - INTERVAL '{months} months'")
    return f"""
SELECT m['n'] AS n, m['iterations'] AS iterations, m['converged'] AS converged,
       round(m['log_likelihood'], 4) AS log_likelihood,
       array_to_string(m['coefficients'], ',') AS coefficients
FROM (SELECT logistic_regression(default_12m, [{FEATURES}]) AS m FROM credit_scores {where})
"""


RUNNER = r"""
import sys, time, warnings
warnings.simplefilter('ignore')
import numpy as np, pyarrow.compute as pc, pyarrow.dataset as ds
lake, months, which = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.time()
data = ds.dataset(lake + '/credit_scores', format='parquet', partitioning='hive')
columns = ['snapshot_month', 'age', 'monthly_income', 'debt_to_income', 'credit_utilization', 'num_open_loans',
           'overdue_count_12m', 'app_logins_30d', 'default_12m']
row_filter = None
if months:
    seen = pc.unique(data.to_table(columns=['snapshot_month']).column('snapshot_month')).sort()
    row_filter = ds.field('snapshot_month').isin(seen[-months:])
table = data.to_table(columns=columns, filter=row_filter)
c = {name: table.column(name).to_numpy().astype(float) for name in columns[1:]}
x = np.column_stack([c['age'], c['monthly_income'], c['debt_to_income'], c['credit_utilization'], c['num_open_loans'],
                     c['overdue_count_12m'], c['app_logins_30d'], np.log(c['monthly_income']),
                     c['credit_utilization'] ** 2, c['age'] * c['debt_to_income']])
y = c['default_12m']
read = time.time()
if which == 'statsmodels':
    import statsmodels.api as sm
    result = sm.Logit(y, sm.add_constant(x)).fit(method='newton', disp=0, maxiter=100)
    coefficients, ll = result.params, result.llf
else:
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(penalty=None, solver=which, max_iter=10000, tol=1e-8).fit(x, y)
    coefficients = np.concatenate([model.intercept_, model.coef_[0]])
    p = model.predict_proba(x)[:, 1]
    ll = float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))
fitted = time.time()
print(f"{len(y)},{ll:.4f}," + ','.join(f'{v:.6g}' for v in coefficients))
print(f"read {read - start:.1f} s, fit {fitted - read:.1f} s", file=sys.stderr)
"""


def python_with_packages():
    venv = os.path.join(harness.ROOT, 'target', 'model-bench-venv')
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(python):
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
        subprocess.run([python, '-m', 'pip', 'install', '--quiet', *PACKAGES], check=True)
    return python


def run_python(python, lake, months, which, timeout):
    started = time.time()
    try:
        out = subprocess.run(['/usr/bin/time', '-f', '%M', python, '-c', RUNNER, lake, str(months), which],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return float('nan'), float('nan'), f'timeout {timeout} s', ''
    seconds = time.time() - started
    stderr = out.stderr.strip().splitlines()
    rss = int(stderr[-1]) / 1024 if stderr and stderr[-1].isdigit() else float('nan')
    answer = out.stdout.strip() if out.returncode == 0 else f'failed: {stderr[-3:]}'
    phases = stderr[-2] if len(stderr) >= 2 else ''
    return seconds, rss, answer, phases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scales', default='1000000')
    ap.add_argument('--months', type=int, default=1, help='last N snapshot months (0 = all)')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--lakes', default=os.path.join(harness.ROOT, 'target', 'bench-lakes'))
    ap.add_argument('--persona', default=harness.PERSONA)
    ap.add_argument('--timeout', type=int, default=1800)
    ap.add_argument('--solvers', default='statsmodels,newton-cholesky',
                    help="statsmodels and scikit-learn solvers, e.g. statsmodels,lbfgs,newton-cholesky")
    args = ap.parse_args()
    harness.PERSONA = args.persona
    python = python_with_packages()
    rows = []
    for scale in (int(s) for s in args.scales.split(',')):
        lake = os.path.join(args.lakes, f'lake-{scale}-seed42')
        if not os.path.isfile(os.path.join(lake, '_truth.json')):
            subprocess.run([harness.PERSONA, 'generate', '--out', lake, '--customers', str(scale), '--seed', '42',
                            '--force', '-q'], check=True)
        runs = [harness.run_engine('persona', lake, persona_sql(args.months)) for _ in range(args.runs)]
        best = min(runs, key=lambda r: r[0])
        print(f'{scale:>9,} persona      {best[0]:8.2f} s {best[1]:7.0f} MiB  {best[2]}', flush=True)
        row = [scale, best[0], best[1]]
        for which in args.solvers.split(','):
            seconds, rss, answer, phases = run_python(python, lake, args.months, which, args.timeout)
            print(f'{scale:>9,} {which:12} {seconds:8.2f} s {rss:7.0f} MiB  {answer}  [{phases}]', flush=True)
            row += [seconds, rss]
        rows.append(row)
    solvers = args.solvers.split(',')
    print('\n| customers | Persona s (peak MiB) | ' + ' | '.join(f'{w} s (MiB)' for w in solvers) + ' |')
    print('|---|---|' + '---|' * len(solvers))
    for scale, ps, pr, *others in rows:
        cells = [f'{others[2 * i]:.2f} ({others[2 * i + 1]:.0f})' for i in range(len(solvers))]
        print(f'| {scale:,} | {ps:.2f} ({pr:.0f}) | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
