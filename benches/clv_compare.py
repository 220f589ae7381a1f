#!/usr/bin/env python3
"""Customer lifetime value: Persona vs lifetimes 0.11.3 (and DuckDB for the summary step) on the
demo lakes (issue 18). Not a test. Needs a release build (`cargo build --release`) and GNU time.

    python benches/clv_compare.py [--scales 100000,1000000] [--runs 1] [--lifetimes-timeout 1800]

The workload, as of 2025-12-31 in days, purchases only (amount > 0):
  1. the per-customer summary (frequency, recency, T, monetary_value: lifetimes'
     `summary_data_from_transaction_data(freq='D')`),
  2. the BG/NBD fit, 3. the Gamma-Gamma fit on customers with repeat purchases,
  4. every customer's 12-month CLV at a 1% monthly discount, summed.
Persona runs it as one SQL statement in a fresh process; lifetimes as its documented pipeline
(pandas reads the transactions from the same Parquet files). Both answers (the summed CLV and the
fitted parameters) are printed so they can be compared. DuckDB computes step 1 in plain SQL
(it has no BG/NBD). The lakes are duckdb_compare.py's cached ones (same seed).
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duckdb_compare as harness  # noqa: E402

LIFETIMES = ['setuptools<81', 'lifetimes==0.11.3', 'pandas', 'pyarrow', 'scipy']

PERSONA_CLV = """
WITH per_customer AS (
    SELECT customer_id, clv_summary(txn_ts, amount, DATE '2025-12-31') AS s
    FROM transactions WHERE amount > 0 GROUP BY customer_id
), models AS (
    SELECT bgnbd_fit(s['frequency'], s['recency'], s['T']) AS bg,
           gamma_gamma_fit(s['frequency'], s['monetary_value']) AS gg
    FROM per_customer
)
SELECT count(*) AS customers,
       round(sum(clv(bg, gg, s['frequency'], s['recency'], s['T'], s['monetary_value'], 12, 0.01)), 0) AS total_clv,
       round(any_value(bg['r']), 5) AS r, round(any_value(bg['alpha']), 4) AS alpha,
       round(any_value(bg['a']), 5) AS a, round(any_value(bg['b']), 5) AS b,
       round(any_value(gg['p']), 5) AS p, round(any_value(gg['q']), 5) AS q, round(any_value(gg['v']), 3) AS v
FROM per_customer, models
"""

DUCKDB_SUMMARY = """
WITH days AS (
    SELECT customer_id, CAST(txn_ts AS DATE) AS d, sum(amount) AS amount
    FROM transactions WHERE amount > 0 AND CAST(txn_ts AS DATE) <= DATE '2025-12-31'
    GROUP BY customer_id, d
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY d) AS k FROM days
)
SELECT count(*), sum(frequency), round(sum(monetary_value), 2) FROM (
    SELECT customer_id, count(*) - 1 AS frequency, max(d) - min(d) AS recency, DATE '2025-12-31' - min(d) AS t,
           coalesce(avg(amount) FILTER (WHERE k > 1), 0) AS monetary_value
    FROM ranked GROUP BY customer_id)
"""

PERSONA_SUMMARY = """
SELECT count(*), sum(s['frequency']), round(sum(s['monetary_value']), 2) FROM (
    SELECT clv_summary(txn_ts, amount, DATE '2025-12-31') AS s FROM transactions WHERE amount > 0 GROUP BY customer_id)
"""

LIFETIMES_RUNNER = r"""
import sys, time, warnings
warnings.simplefilter('ignore')
import pandas as pd, pyarrow.dataset as ds
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
start = time.time()
table = ds.dataset(sys.argv[1] + '/transactions', format='parquet', partitioning='hive').to_table(
    columns=['customer_id', 'txn_ts', 'amount'], filter=ds.field('amount') > 0)
tx = table.to_pandas()
read = time.time()
summary = summary_data_from_transaction_data(tx, 'customer_id', 'txn_ts', monetary_value_col='amount',
                                             observation_period_end='2025-12-31', freq='D')
summarised = time.time()
bgf = BetaGeoFitter().fit(summary['frequency'], summary['recency'], summary['T'])
repeat = summary[(summary['frequency'] > 0) & (summary['monetary_value'] > 0)]
ggf = GammaGammaFitter().fit(repeat['frequency'], repeat['monetary_value'])
fitted = time.time()
clv = ggf.customer_lifetime_value(bgf, summary['frequency'], summary['recency'], summary['T'],
                                  summary['monetary_value'], time=12, discount_rate=0.01, freq='D')
done = time.time()
p = bgf.params_; g = ggf.params_
print(f"{len(summary)},{clv.sum():.0f},{p['r']:.5f},{p['alpha']:.4f},{p['a']:.5f},{p['b']:.5f},"
      f"{g['p']:.5f},{g['q']:.5f},{g['v']:.3f}")
print(f"read {read - start:.1f} s, summary {summarised - read:.1f} s, fits {fitted - summarised:.1f} s, "
      f"clv {done - fitted:.1f} s", file=sys.stderr)
"""


def lifetimes_python():
    venv = os.path.join(harness.ROOT, 'target', 'clv-bench-venv')
    python = os.path.join(venv, 'bin', 'python')
    if not os.path.exists(python):
        subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
        subprocess.run([python, '-m', 'pip', 'install', '--quiet', *LIFETIMES], check=True)
    return python


def main():
    harness.ensure_duckdb()
    ap = argparse.ArgumentParser()
    ap.add_argument('--scales', default='100000,1000000')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--lakes', default=os.path.join(harness.ROOT, 'target', 'bench-lakes'))
    ap.add_argument('--persona', default=harness.PERSONA)
    ap.add_argument('--lifetimes-timeout', type=int, default=1800)
    args = ap.parse_args()
    harness.PERSONA = args.persona
    python = lifetimes_python()
    rows = []
    for scale in (int(s) for s in args.scales.split(',')):
        lake = os.path.join(args.lakes, f'lake-{scale}-seed42')
        if not os.path.isfile(os.path.join(lake, '_truth.json')):
            subprocess.run([harness.PERSONA, 'generate', '--out', lake, '--customers', str(scale), '--seed', '42',
                            '--force', '-q'], check=True)
        persona = [harness.run_engine('persona', lake, PERSONA_CLV) for _ in range(args.runs)]
        best = min(persona, key=lambda r: r[0])
        print(f'{scale:>9,} persona   {best[0]:8.2f} s {best[1]:7.0f} MiB  {best[2]}', flush=True)
        summary_p = harness.run_engine('persona', lake, PERSONA_SUMMARY)
        summary_d = harness.run_engine('duckdb', lake, DUCKDB_SUMMARY)
        print(f'{scale:>9,} summary   persona {summary_p[0]:.2f} s ({summary_p[2]})  '
              f'duckdb {summary_d[0]:.2f} s ({summary_d[2]})', flush=True)
        started = time.time()
        try:
            out = subprocess.run(['/usr/bin/time', '-f', '%M', python, '-c', LIFETIMES_RUNNER, lake],
                                 capture_output=True, text=True, timeout=args.lifetimes_timeout)
            seconds = time.time() - started
            stderr = out.stderr.strip().splitlines()
            rss = int(stderr[-1]) / 1024 if stderr and stderr[-1].isdigit() else float('nan')
            answer = out.stdout.strip() if out.returncode == 0 else f'failed: {stderr[-3:]}'
            phases = stderr[-2] if len(stderr) >= 2 else ''
        except subprocess.TimeoutExpired:
            seconds, rss, answer, phases = float('nan'), float('nan'), f'timeout {args.lifetimes_timeout} s', ''
        print(f'{scale:>9,} lifetimes {seconds:8.2f} s {rss:7.0f} MiB  {answer}  [{phases}]', flush=True)
        rows.append((scale, best[0], best[1], seconds, rss, summary_p[0], summary_d[0]))
    print('\n| customers | Persona s (peak MiB) | lifetimes s (peak MiB) | lifetimes / Persona | '
          'summary only: Persona s / DuckDB s |')
    print('|---|---|---|---|---|')
    for scale, ps, pr, ls, lr, sp, sd in rows:
        print(f'| {scale:,} | {ps:.2f} ({pr:.0f}) | {ls:.1f} ({lr:.0f}) | {ls / ps:.0f}× | {sp:.2f} / {sd:.2f} |')


if __name__ == '__main__':
    main()
