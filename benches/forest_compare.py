#!/usr/bin/env python3
"""Isolation forest fit and score: Persona vs scikit-learn on the demo lake's credit snapshots (issue 24).
Not a test. Needs a release build (target/release/persona) and GNU time (/usr/bin/time).

    python benches/forest_compare.py [--lake DIR] [--months 0] [--python PY]

The workload: 100 trees of 256 rows on seven features of `credit_scores` (age, income, debt-to-income,
utilisation, open loans, overdue count, app logins) over the last --months snapshot months (0 = all), then
the anomaly score of every row and its AUC against `default_12m`. Persona: isolation_forest_fit and
isolation_forest_score in one SQL statement in a fresh process. scikit-learn: IsolationForest(n_estimators=100,
max_samples=256, random_state=0, n_jobs=-1) on the same Parquet files read with pyarrow (read, fit and score
phases printed). --python: an interpreter with scikit-learn and pyarrow (e.g. a venv's).
"""
import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PERSONA = os.path.join(ROOT, 'target', 'release', 'persona')
COLUMNS = ['age', 'monthly_income', 'debt_to_income', 'credit_utilization', 'num_open_loans', 'overdue_count_12m',
           'app_logins_30d']

SKLEARN = r"""
import sys, time, numpy as np, pyarrow.dataset as ds, pyarrow.compute as pc
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
lake, months, columns = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(',')
t0 = time.time()
table = ds.dataset(f'{lake}/credit_scores', format='parquet').to_table(columns=columns + ['snapshot_month', 'default_12m'])
if months:
    last = pc.max(table['snapshot_month']).as_py()
    import datetime
    months_back = [(last.year * 12 + last.month - 1 - k) for k in range(months)]
    keep = pc.is_in(pc.add(pc.multiply(pc.year(table['snapshot_month']), 12), pc.subtract(pc.month(table['snapshot_month']), 1)),
                    value_set=__import__('pyarrow').array(months_back, type=__import__('pyarrow').int64()))
    table = table.filter(keep)
X = np.column_stack([table[c].to_numpy().astype(float) for c in columns])
y = table['default_12m'].to_numpy()
t1 = time.time()
forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=-1).fit(X)
t2 = time.time()
s = -forest.score_samples(X)
t3 = time.time()
print(f'{len(y)},{roc_auc_score(y, s):.4f},{t1 - t0:.2f},{t2 - t1:.2f},{t3 - t2:.2f}')
"""


def timed(cmd):
    with tempfile.NamedTemporaryFile('r', suffix='.time') as report:
        proc = subprocess.run(['/usr/bin/time', '-o', report.name, '-f', '%e %M'] + cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024, proc.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--lake', default=os.path.join(ROOT, 'target', 'bench-lakes', 'lake-1000000-seed42'))
    ap.add_argument('--months', type=int, default=0)
    ap.add_argument('--python', default=sys.executable)
    args = ap.parse_args()
    where = '' if args.months == 0 else (
        f"WHERE snapshot_month > (SELECT max(snapshot_month) FROM credit_scores) - INTERVAL '{args.months} months'")
    features = ', '.join(f'CAST({c} AS DOUBLE)' for c in COLUMNS)
    sql = (f"WITH c AS (SELECT [{features}] AS x, default_12m FROM credit_scores {where}) "
           f"SELECT count(*), round(auc(isolation_forest_score((SELECT isolation_forest_fit(x, 100, 256, 0) FROM c), x), "
           f"default_12m), 4) FROM c")
    seconds, rss, out = timed([PERSONA, '-q', '--format', 'csv', '--lake', args.lake, '-c', sql])
    print(f'Persona: {seconds:.2f} s, peak {rss:.0f} MiB, rows and AUC {out}')
    seconds, rss, out = timed([args.python, '-c', SKLEARN, args.lake, str(args.months), ','.join(COLUMNS)])
    n, auc, read, fit, score = out.split(',')
    print(f'scikit-learn: {seconds:.2f} s, peak {rss:.0f} MiB, {n} rows, AUC {auc} (read {read} s, fit {fit} s, score {score} s)')


if __name__ == '__main__':
    main()
