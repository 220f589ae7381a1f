#!/usr/bin/env python3
"""Frequent-itemset mining on Online Retail: Persona vs mlxtend fpgrowth vs pyfim (Borgelt's C FP-growth).

Not a test. Needs a release build (`cargo build --release`) and a venv with
`pip install pandas pyarrow mlxtend pyfim`. Every run is a fresh process; the script reports the
median wall time of `--runs` runs and the peak RSS of the process (GNU time, /usr/bin/time), and checks that all
three tools return the same number of itemsets.

    python benches/basket_compare.py [--runs 3] [--supports 0.01,0.005] [--skip-mlxtend]

Data: every line of Online Retail (UCI) with a non-cancelled invoice, quantity > 0 and a description;
basket = InvoiceNo, item = Description stripped of surrounding spaces. Mining time includes reading
the baskets (Parquet for Persona, the prepared pickle for the Python tools) and, for mlxtend, the
one-hot encoding it needs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'online_retail', 'online_retail.csv.gz')

PY_MLXTEND = r'''
import sys, pickle, pandas as pd
from mlxtend.preprocessing import TransactionEncoder
from mlxtend.frequent_patterns import fpgrowth
baskets = pickle.load(open(sys.argv[1], 'rb'))
te = TransactionEncoder()
onehot = pd.DataFrame(te.fit(baskets).transform(baskets, sparse=False), columns=te.columns_)
print(len(fpgrowth(onehot, min_support=float(sys.argv[2]))))
'''

PY_FIM = r'''
import sys, pickle, math
from fim import fpgrowth
baskets = pickle.load(open(sys.argv[1], 'rb'))
n, s = len(baskets), float(sys.argv[2])
c = max(1, math.ceil(s * n) - 1)
while c / n < s:
    c += 1
print(len(fpgrowth(baskets, target='s', supp=-c, zmin=1, report='a')))
'''


def measure(cmd):
    """Runs cmd under GNU time (stdout and stderr of cmd discarded); returns (seconds, peak RSS in MiB)."""
    with tempfile.NamedTemporaryFile('r', suffix='.time') as report:
        subprocess.run(['/usr/bin/time', '-o', report.name, '-f', '%e %M'] + cmd, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds, kib = report.read().split()[-2:]
    return float(seconds), int(kib) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--supports', default='0.01,0.005')
    ap.add_argument('--skip-mlxtend', action='store_true')
    args = ap.parse_args()
    import pandas as pd
    import pickle

    work = tempfile.mkdtemp(prefix='persona-basket-')
    raw = pd.read_csv(DATA, dtype={'InvoiceNo': str, 'StockCode': str})
    raw = raw[~raw.InvoiceNo.str.startswith('C') & (raw.Quantity > 0) & raw.Description.notna()]
    long = pd.DataFrame({'basket': raw.InvoiceNo, 'item': raw.Description.str.strip()}).drop_duplicates()
    parquet = os.path.join(work, 'lines.parquet')
    long.to_parquet(parquet, index=False)
    baskets = long.groupby('basket').item.apply(list).tolist()
    pkl = os.path.join(work, 'baskets.pkl')
    with open(pkl, 'wb') as f:
        pickle.dump(baskets, f)
    print(f'Online Retail: {len(baskets)} baskets, {long.item.nunique()} items, {len(long)} (basket, item) pairs')
    persona = os.path.join(ROOT, 'target', 'release', 'persona')
    rows = []
    for support in [float(s) for s in args.supports.split(',')]:
        sql = (f"SELECT count(*) FROM (SELECT unnest(frequent_itemsets(basket, item, {support})) "
               f"FROM '{parquet}')")
        tools = {
            'persona': [persona, '-q', '--format', 'csv', '-c', sql],
            'pyfim': [sys.executable, '-c', PY_FIM, pkl, str(support)],
        }
        if not args.skip_mlxtend:
            tools['mlxtend'] = [sys.executable, '-c', PY_MLXTEND, pkl, str(support)]
        counts = {}
        for name, cmd in tools.items():
            counts[name] = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[-1]
            runs = [measure(cmd) for _ in range(args.runs)]
            t = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            rows.append((support, name, t, rss, counts[name]))
            print(f'min_support {support}: {name:8} {t:8.2f} s  {rss:8.0f} MiB  {counts[name]} itemsets', flush=True)
        if len(set(counts.values())) != 1:
            sys.exit(f'itemset counts differ: {counts}')
    print('\n| min_support | tool | median s | peak RSS MiB | itemsets |\n|---|---|---|---|---|')
    for support, name, t, rss, n in rows:
        print(f'| {support} | {name} | {t:.2f} | {rss:.0f} | {n} |')


if __name__ == '__main__':
    main()
