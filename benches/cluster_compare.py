#!/usr/bin/env python3
"""The DuckDB harness's first five workloads (benches/duckdb_compare.py) on the local engine and on a
Ballista cluster of `persona scheduler` + `persona executor` processes on this machine: (a) local,
(b) one executor with as many task slots as cores, (c) two executors with one task slot each.
Answers are checked equal to the local engine's (numbers to 6 significant digits, as the harness).

    python3 benches/cluster_compare.py --scale 1000000 --runs 3

Needs the release binary (cargo build --release) and the harness's lake (generated if missing).
Not a test: it takes minutes. Prints a Markdown table for BENCHMARKS.md and writes --json.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import duckdb_compare as harness  # noqa: E402  (its main() only runs as a script)

FIVE = ['rfm_segments', 'psi_9_features_x_12_months', 'campaign_lift_by_age_band', 'pair_rules', 'auc_ks_per_month']


def free_port_pair():
    """A free port whose next port up is free too (an executor binds both)."""
    while True:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(('127.0.0.1', port + 1))
            return port
        except OSError:
            continue


def wait_listening(port, proc, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f'{what} exited with {proc.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f'{what} does not listen on {port}')


class Cluster:
    """A scheduler and executors (task slots per executor) as processes on loopback."""

    def __init__(self, slots, work):
        self.procs = []
        port = free_port_pair()
        self.url = f'df://127.0.0.1:{port}'
        log = open(os.path.join(work, 'cluster.log'), 'a')
        env = dict(os.environ, RUST_LOG='warn')
        scheduler = subprocess.Popen([harness.PERSONA, 'scheduler', '--bind', f'127.0.0.1:{port}'],
                                     stdout=log, stderr=log, env=env)
        self.procs.append(scheduler)
        wait_listening(port, scheduler, 'the scheduler')
        for n, tasks in enumerate(slots):
            flight = free_port_pair()
            executor = subprocess.Popen(
                [harness.PERSONA, 'executor', '--scheduler', f'127.0.0.1:{port}', '--bind', f'127.0.0.1:{flight}',
                 '--concurrent-tasks', str(tasks), '--work-dir', os.path.join(work, f'executor-{n}')],
                stdout=log, stderr=log, env=env)
            self.procs.append(executor)
            wait_listening(flight, executor, 'an executor')
        time.sleep(2)  # registration with the scheduler

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def run(lake, sql, cluster=None, partitions=None):
    extra = ['--cluster', cluster] if cluster else []
    if partitions:
        extra += ['-p', str(partitions)]
    seconds, rss, out, _ = harness.timed([harness.PERSONA, '-q', '--format', 'csv', '--lake', lake] + extra + ['-c', sql])
    return seconds, rss, harness.normalise('\n'.join(out.strip().splitlines()[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scale', type=int, default=1000000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--lakes', default=os.path.join(harness.ROOT, 'target', 'bench-lakes'))
    ap.add_argument('--json', default=os.path.join(harness.ROOT, 'target', 'bench-lakes', 'cluster_compare.json'))
    args = ap.parse_args()
    lake = os.path.join(args.lakes, f'lake-{args.scale}-seed42')
    if not os.path.isfile(os.path.join(lake, '_truth.json')):
        subprocess.run([harness.PERSONA, 'generate', '--out', lake, '--customers', str(args.scale), '--seed', '42',
                        '--force'], check=True, stdout=subprocess.DEVNULL)
    cores = os.cpu_count() or 2
    setups = [('local', None), (f'1 executor × {cores} slots', [cores]), ('2 executors × 1 slot', [1, 1])]
    workloads = [w for w in harness.WORKLOADS if w[0] in FIVE]
    results = []
    with tempfile.TemporaryDirectory() as work:
        for label, slots in setups:
            cluster = Cluster(slots, work) if slots else None
            try:
                for name, sql, _, _ in workloads:
                    # shuffle partitions: as many as task slots in the cluster
                    partitions = sum(slots) if slots else None
                    run(lake, sql, cluster and cluster.url, partitions)  # warm-up
                    runs = [run(lake, sql, cluster and cluster.url, partitions) for _ in range(args.runs)]
                    seconds = statistics.median(r[0] for r in runs)
                    results.append(dict(setup=label, workload=name, seconds=seconds, rss_mib=max(r[1] for r in runs),
                                        answer=runs[0][2]))
                    print(f'{label:24} {name:28} {seconds:8.2f} s', flush=True)
            finally:
                if cluster:
                    cluster.stop()
    local = {r['workload']: r['answer'] for r in results if r['setup'] == 'local'}
    for r in results:
        if r['answer'] != local[r['workload']]:
            sys.exit(f"{r['setup']}: the answer of {r['workload']} differs from the local engine's")
    with open(args.json, 'w') as f:
        json.dump([{k: v for k, v in r.items() if k != 'answer'} for r in results], f, indent=1)
    print(f'\n| workload ({args.scale:,} customers) | ' + ' | '.join(label for label, _ in setups) + ' |')
    print('|---|' + '---:|' * len(setups))
    for name, *_ in workloads:
        cells = [next(r for r in results if r['setup'] == label and r['workload'] == name) for label, _ in setups]
        print(f'| {name} | ' + ' | '.join(f"{c['seconds']:.2f} s" for c in cells) + ' |')
    print('\nall answers equal the local engine\'s')


if __name__ == '__main__':
    main()
