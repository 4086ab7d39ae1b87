#!/usr/bin/env python3
"""Conformance runner: upstream Placement's gabbi tests against a live server.

For each YAML file under placement/tests/functional/gabbits/ of the pinned
openstack-placement release this creates a fresh database, lets worker.py set
up the file's fixtures with upstream's own fixture classes, start the server
(ours by default, or upstream's under gunicorn) on a loopback port and run the
file's tests over real HTTP; then it drops the database. It prints a per-file
table and `conformance: P passed, F failed of T`, optionally writes the same
as JSON, and compares the failures with the checked-in expected-failure list
for the server and backend (conformance/expected-failures/<server>-<db>.txt).

Exit status: 0 when every failure is on the list and every listed test still
fails; 1 on a regression (a failure not on the list) or an unexpected pass (a
listed test that passes: take it off the list); 2 when the run itself could
not be set up. `--update-expected` rewrites the list from this run instead.

Run conformance/setup.sh first; this script re-executes itself with the
interpreter of conformance/.venv when started with another one.
"""

import argparse
import concurrent.futures
import datetime
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
VENV = os.path.join(HERE, '.venv')
EXPECTED_DIR = os.path.join(HERE, 'expected-failures')
WORKER = os.path.join(HERE, 'worker.py')
DEFAULT_BINARY = os.path.join(REPO_ROOT, 'target', 'debug', 'placement-api')
UPSTREAM_DIST = 'openstack-placement'
UPSTREAM_VERSION = '16.0.0'

# The local database servers the issue names (trust / empty-password auth).
POSTGRES = {'host': '127.0.0.1', 'port': 5432, 'user': 'postgres'}
MYSQL = {'host': '127.0.0.1', 'port': 3306, 'user': 'root', 'password': ''}

FLAKY_PREFIX = 'flaky:'
UUID_RE = re.compile(r'[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                     r'[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}')


def ensure_venv():
    """Re-executes this script under conformance/.venv's interpreter."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    python = os.path.join(VENV, 'bin', 'python')
    if not os.path.exists(python):
        sys.exit('conformance: %s does not exist: run conformance/setup.sh first'
                 % VENV)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


# --------------------------------------------------------------------------
# Databases: one fresh, uniquely named database per YAML file
# --------------------------------------------------------------------------

class SqliteDatabase:
    def __init__(self, workdir, name):
        self.path = os.path.join(workdir, name + '.sqlite')
        self.url = 'sqlite:///' + self.path

    def create(self):
        pass  # the fixture creates the file

    def drop(self):
        for suffix in ('', '-wal', '-shm', '-journal'):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass


class PostgresDatabase:
    def __init__(self, workdir, name):
        self.name = name
        # Name the driver: SQLAlchemy 2.1 maps a bare postgresql:// to
        # psycopg 3, which upstream's deployments do not use.
        self.url = 'postgresql+psycopg2://%(user)s@%(host)s:%(port)d/' % POSTGRES + name

    @staticmethod
    def _admin():
        import psycopg2
        conn = psycopg2.connect(dbname='postgres', connect_timeout=10, **POSTGRES)
        conn.autocommit = True
        return conn

    @classmethod
    def check(cls):
        cls._admin().close()

    def create(self):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute('CREATE DATABASE "%s" ENCODING \'UTF8\' TEMPLATE template0'
                            % self.name)
        finally:
            conn.close()

    def drop(self):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        finally:
            conn.close()


class MysqlDatabase:
    def __init__(self, workdir, name):
        self.name = name
        # devstack creates placement's database with CHARACTER SET utf8 and
        # connects with charset=utf8; do the same.
        credentials = MYSQL['user']
        if MYSQL['password']:
            credentials += ':' + MYSQL['password']
        self.url = ('mysql+pymysql://%s@%s:%d/%s?charset=utf8'
                    % (credentials, MYSQL['host'], MYSQL['port'], name))

    @staticmethod
    def _admin():
        import pymysql
        return pymysql.connect(connect_timeout=10, autocommit=True, **MYSQL)

    @classmethod
    def check(cls):
        cls._admin().close()

    def create(self):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute('CREATE DATABASE `%s` CHARACTER SET utf8' % self.name)
        finally:
            conn.close()

    def drop(self):
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS `%s`' % self.name)
        finally:
            conn.close()


BACKENDS = {
    'sqlite': SqliteDatabase,
    'postgresql': PostgresDatabase,
    'mysql': MysqlDatabase,
}


# --------------------------------------------------------------------------
# Tests and their names
# --------------------------------------------------------------------------

def gabbits_dir():
    import importlib.metadata
    import importlib.util
    version = importlib.metadata.version(UPSTREAM_DIST)
    if version != UPSTREAM_VERSION:
        sys.exit('conformance: %s %s is installed, %s is pinned: run conformance/setup.sh'
                 % (UPSTREAM_DIST, version, UPSTREAM_VERSION))
    spec = importlib.util.find_spec('placement')
    return os.path.join(os.path.dirname(spec.origin), 'tests', 'functional', 'gabbits')


def unique_names(names):
    """Makes names unique within a file: the second `x` becomes `x #2`.

    One upstream file (usage-secure-rbac.yaml) repeats two test names.
    """
    seen = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else '%s #%d' % (name, seen[name]))
    return out


def yaml_test_names(path):
    import yaml
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    return unique_names([t['name'] for t in data.get('tests') or []])


def select_files(directory, patterns):
    files = sorted(f for f in os.listdir(directory) if f.endswith('.yaml'))
    if not patterns:
        return files
    chosen = []
    for pattern in patterns:
        pattern = os.path.basename(pattern)
        matches = [f for f in files
                   if fnmatch.fnmatch(f, pattern) or fnmatch.fnmatch(f, pattern + '.yaml')]
        if not matches:
            sys.exit('conformance: no upstream gabbi file matches %r' % pattern)
        chosen.extend(m for m in matches if m not in chosen)
    return sorted(chosen)


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------

# Worker processes now running, so an interrupted run can end them (and the
# servers they started, in the same process group) before it exits.
LIVE_WORKERS = set()
LIVE_LOCK = threading.Lock()
INTERRUPTED = threading.Event()


def _kill_group(proc):
    """Ends the worker and the server it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_file(yaml_name, opts, run_root):
    """Runs one YAML file in a worker process; returns its file result."""
    yaml_path = os.path.join(opts.gabbits, yaml_name)
    names = yaml_test_names(yaml_path)
    stem = os.path.splitext(yaml_name)[0]
    workdir = tempfile.mkdtemp(prefix=stem + '-', dir=run_root)
    db_name = 'conformance_%s_%s' % (re.sub(r'[^a-z0-9]', '_', stem.lower())[:30],
                                     uuid.uuid4().hex[:10])
    db = BACKENDS[opts.db](workdir, db_name)
    spec = {
        'yaml': yaml_path,
        'db_url': db.url,
        'server': opts.server,
        'binary': opts.binary,
        'workdir': workdir,
        'startup_timeout': opts.startup_timeout,
        'result': os.path.join(workdir, 'result.json'),
    }
    spec_path = os.path.join(workdir, 'spec.json')
    with open(spec_path, 'w', encoding='utf-8') as f:
        json.dump(spec, f)

    started = time.monotonic()
    error = None
    worker_result = None
    try:
        db.create()
        try:
            env = dict(os.environ)
            if opts.db != 'sqlite':
                # oslo.db's ad-hoc fixture still looks up a provisioning
                # backend of the URL's type, by default at the
                # openstack_citest account; point it at our server instead.
                env['OS_TEST_DBAPI_ADMIN_CONNECTION'] = db.url
            with open(os.path.join(workdir, 'worker.log'), 'wb') as log:
                with LIVE_LOCK:
                    if INTERRUPTED.is_set():
                        raise RuntimeError('run interrupted')
                    proc = subprocess.Popen(
                        [sys.executable, WORKER, spec_path], cwd=workdir, env=env,
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        start_new_session=True)
                    LIVE_WORKERS.add(proc)
                try:
                    proc.wait(timeout=opts.timeout)
                except subprocess.TimeoutExpired:
                    error = 'timed out after %ss (per-file limit, --timeout)' % opts.timeout
                finally:
                    # The worker stops its server itself; this catches a server
                    # left behind by a worker that died or timed out.
                    if proc.returncode != 0:
                        _kill_group(proc)
                    with LIVE_LOCK:
                        LIVE_WORKERS.discard(proc)
            if os.path.exists(spec['result']):
                with open(spec['result'], encoding='utf-8') as f:
                    worker_result = json.load(f)
            elif error is None:
                error = ('worker exited with status %s without a result\n'
                         '--- worker log (last lines) ---\n%s'
                         % (proc.returncode, _tail(os.path.join(workdir, 'worker.log'))))
        finally:
            db.drop()
    except Exception as exc:  # database creation or drop failed, or interrupted
        error = (error + '\n' if error else '') + '%s: %s' % (opts.db, exc)
    duration = time.monotonic() - started

    outcomes = {}
    if worker_result:
        ran = unique_names([t['name'] for t in worker_result['tests']])
        for name, test in zip(ran, worker_result['tests']):
            outcomes[name] = {'status': test['status'], 'message': test['message']}
        error = worker_result.get('error') or error
    tests = []
    for name in names:
        outcome = outcomes.pop(name, None)
        if outcome is None:
            outcome = {'status': 'error',
                       'message': 'not run: ' + (error or 'no outcome reported')}
        tests.append(dict(name=name, **outcome))
    for name, outcome in outcomes.items():  # not expected; keep it visible
        tests.append(dict(name=name, **outcome))

    keep = opts.keep_workdirs
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        'file': yaml_name,
        'passed': sum(t['status'] == 'pass' for t in tests),
        'failed': sum(t['status'] in ('fail', 'error') for t in tests),
        'skipped': sum(t['status'] == 'skip' for t in tests),
        'total': len(tests),
        'duration_s': round(duration, 2),
        'phases': (worker_result or {}).get('phases', {}),
        'error': error,
        'workdir': workdir if keep else None,
        'tests': tests,
    }


def _tail(path, lines=40):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return '\n'.join(f.read().splitlines()[-lines:])
    except OSError as exc:
        return '(unreadable: %s)' % exc


# --------------------------------------------------------------------------
# Expected failures
# --------------------------------------------------------------------------

def expected_path(opts):
    return opts.expected or os.path.join(EXPECTED_DIR, '%s-%s.txt' % (opts.server, opts.db))


def load_expected(path):
    """{(file, test name): reason} from a list file; missing file = empty."""
    entries = {}
    if not os.path.exists(path):
        return entries
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            parts = [p.strip() for p in line.split(' | ')]
            if len(parts) != 3 or not all(parts):
                sys.exit('conformance: %s:%d: expected "<file> | <test name> | <reason>"'
                         % (path, number))
            entries[(parts[0], parts[1])] = parts[2]
    return entries


HEADER = """\
# Expected failures of upstream Placement's gabbi tests: {server} server, {db} backend.
# Maintained by conformance/run.py; see conformance/README.md.
#
# One test a line: <yaml file> | <test name> | <reason>
# A run fails when a test not listed here fails (a regression) and when a
# listed test passes (take it off: the list only shrinks). A reason that
# starts with "flaky:" marks a test whose outcome varies; it is never judged.
# `run.py --server {server} --db {db} --update-expected` rewrites this file
# from a run, keeping the reasons already written.
"""


def failure_summary(message):
    """A short, stable one-line description of a failure for a new entry."""
    lines = [l.strip() for l in (message or '').splitlines() if l.strip()]
    summary = ''
    for line in reversed(lines):
        if re.match(r'^[A-Za-z_.]+(Error|Exception|Failure)\b', line) or line.startswith('not run'):
            summary = line
            break
    if not summary and lines:
        summary = lines[-1]
    status = re.match(r"^AssertionError: '(\d+)' not found in \[(.*)\]", summary)
    replace = re.match(r'^AssertionError: unable to replace (\$[A-Z_]+) in', summary)
    text = re.match(r"^AssertionError: ('.*') not found in ", summary)
    if status:
        summary = 'status %s, expected %s' % (
            status.group(1), status.group(2).replace("'", ''))
    elif replace:
        summary = ('uses %s of an earlier test that did not give it'
                   % replace.group(1))
    elif text:
        summary = 'response lacks %s' % text.group(1)
    summary = UUID_RE.sub('<uuid>', summary)
    summary = re.sub(r'req-<uuid>', 'req-<id>', summary)
    summary = re.sub(r'\s+', ' ', summary).replace(' | ', ' / ')
    return summary[:140]


def save_expected(path, opts, results, old):
    """Rewrites the list: this run's failures for the files it ran, old
    entries for files it did not run."""
    ran_files = {r['file'] for r in results}
    new = {k: v for k, v in old.items() if k[0] not in ran_files}
    order = {}
    for r in results:
        for index, t in enumerate(r['tests']):
            key = (r['file'], t['name'])
            order[key] = index
            reason = old.get(key)
            if reason and reason.lower().startswith(FLAKY_PREFIX):
                new[key] = reason
            elif t['status'] in ('fail', 'error'):
                new[key] = reason or 'untriaged: %s' % failure_summary(t['message'])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        f.write(HEADER.format(server=opts.server, db=opts.db))
        last_file = None
        for key in sorted(new, key=lambda k: (k[0], order.get(k, 1 << 30), k[1])):
            if key[0] != last_file:
                f.write('\n')
                last_file = key[0]
            f.write('%s | %s | %s\n' % (key[0], key[1], new[key]))
    os.replace(path + '.tmp', path)
    return new


def judge(results, expected, full_run):
    """Regressions, unexpected passes and stale entries of this run."""
    regressions, unexpected_passes, stale = [], [], []
    seen = set()
    for r in results:
        for t in r['tests']:
            key = (r['file'], t['name'])
            seen.add(key)
            reason = expected.get(key)
            failed = t['status'] in ('fail', 'error')
            if reason is not None and reason.lower().startswith(FLAKY_PREFIX):
                continue
            if failed and reason is None:
                regressions.append((key, t))
            elif not failed and t['status'] == 'pass' and reason is not None:
                unexpected_passes.append((key, reason))
    ran_files = {r['file'] for r in results}
    for key in expected:
        if key not in seen and (full_run or key[0] in ran_files):
            stale.append(key)
    return regressions, unexpected_passes, stale


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def print_table(results, out=sys.stdout):
    width = max([len(r['file']) for r in results] + [4])
    out.write('%-*s %6s %6s %6s %8s\n' % (width, 'file', 'passed', 'failed', 'total', 'time'))
    for r in results:
        mark = '  !' if r['error'] else ''
        out.write('%-*s %6d %6d %6d %7.1fs%s\n' % (
            width, r['file'], r['passed'], r['failed'], r['total'], r['duration_s'], mark))


def print_file_errors(results, out=sys.stdout):
    """Each distinct setup error once, in full (server log included)."""
    shown = {}
    for r in results:
        if not r['error']:
            continue
        first = r['error'].splitlines()[0] if r['error'].strip() else r['error']
        first = UUID_RE.sub('<uuid>', re.sub(r'127\.0\.0\.1:\d+', '127.0.0.1:<port>', first))
        if first in shown:
            out.write('! %s: same error as %s\n' % (r['file'], shown[first]))
            continue
        shown[first] = r['file']
        out.write('! %s: %s\n' % (r['file'], r['error'].rstrip()))
    if shown:
        out.write('\n')


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Run upstream Placement's gabbi tests against a live server.",
        epilog='See conformance/README.md.')
    parser.add_argument('files', nargs='*', metavar='FILE',
                        help='upstream YAML files to run (names or globs, e.g. '
                             '"allocations*"); all of them when none is given')
    parser.add_argument('--server', choices=('rust', 'python'), default='rust',
                        help='rust: our placement-api (default); python: upstream '
                             'placement under gunicorn')
    parser.add_argument('--binary', default=DEFAULT_BINARY,
                        help='placement-api to run with --server rust (default: %(default)s)')
    parser.add_argument('--db', choices=sorted(BACKENDS), default='sqlite',
                        help='database backend (default: %(default)s)')
    parser.add_argument('--json', metavar='PATH', help='also write the results as JSON here')
    parser.add_argument('--expected', metavar='PATH',
                        help='expected-failure list (default: '
                             'expected-failures/<server>-<db>.txt)')
    parser.add_argument('--update-expected', action='store_true',
                        help='rewrite the expected-failure list from this run '
                             '(keeping existing reasons) instead of judging it')
    parser.add_argument('--accept-setup-errors', action='store_true',
                        help='with --update-expected: list the tests of files whose '
                             'server or fixtures did not come up (refused otherwise)')
    parser.add_argument('-j', '--jobs', type=int, default=2,
                        help='files run at once (default: %(default)s)')
    parser.add_argument('--timeout', type=float, default=300,
                        help='seconds one file may take in all (default: %(default)s)')
    parser.add_argument('--startup-timeout', type=float, default=30,
                        help='seconds the server has to answer GET / (default: %(default)s)')
    parser.add_argument('--keep-workdirs', action='store_true',
                        help='keep each file\'s directory (config, server and worker '
                             'logs) and print where it is')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='print every failing test with its message')
    opts = parser.parse_args(argv)

    opts.gabbits = gabbits_dir()
    files = select_files(opts.gabbits, opts.files)
    if opts.server == 'rust':
        opts.binary = os.path.abspath(opts.binary)
        if not os.access(opts.binary, os.X_OK):
            sys.exit('conformance: %s is not an executable: build it with '
                     '`cargo build -p placement --bin placement-api` or pass --binary'
                     % opts.binary)
    else:
        opts.binary = None
    backend = BACKENDS[opts.db]
    if hasattr(backend, 'check'):
        try:
            backend.check()
        except Exception as exc:
            sys.exit('conformance: cannot reach the %s server: %s' % (opts.db, exc))

    list_path = expected_path(opts)
    expected = load_expected(list_path)
    run_root = tempfile.mkdtemp(prefix='placement-conformance-')
    print('conformance: %d files, server %s%s, db %s, %d jobs, workdir %s' % (
        len(files), opts.server, ' (%s)' % opts.binary if opts.binary else '',
        opts.db, opts.jobs, run_root), flush=True)

    started = time.monotonic()
    results = []
    # CI stops a job with SIGTERM: treat it like ^C so servers are killed and
    # databases dropped on the way out.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs))
    try:
        futures = [pool.submit(run_file, f, opts, run_root) for f in files]
        for future in concurrent.futures.as_completed(futures):
            r = future.result()
            results.append(r)
            sys.stderr.write('[%d/%d] %s: %d/%d passed in %.1fs%s\n' % (
                len(results), len(files), r['file'], r['passed'], r['total'],
                r['duration_s'], ' (setup error)' if r['error'] else ''))
            sys.stderr.flush()
    except KeyboardInterrupt:
        sys.stderr.write('conformance: interrupted; stopping servers and dropping '
                         'databases\n')
        with LIVE_LOCK:
            INTERRUPTED.set()
            for proc in list(LIVE_WORKERS):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        pool.shutdown(wait=True, cancel_futures=True)
        if not opts.keep_workdirs:
            shutil.rmtree(run_root, ignore_errors=True)
        return 130
    pool.shutdown(wait=True)
    elapsed = time.monotonic() - started
    if not opts.keep_workdirs:
        shutil.rmtree(run_root, ignore_errors=True)
    results.sort(key=lambda r: r['file'])

    passed = sum(r['passed'] for r in results)
    failed = sum(r['failed'] for r in results)
    total = sum(r['total'] for r in results)
    full_run = not opts.files

    print()
    print_file_errors(results)
    if opts.verbose:
        for r in results:
            for t in r['tests']:
                if t['status'] in ('fail', 'error'):
                    print('--- FAIL %s | %s\n%s' % (r['file'], t['name'], t['message'].rstrip()))
    print_table(results)
    print('time: %.1fs' % elapsed)

    status = 0
    verdict = {}
    setup_errors = [r['file'] for r in results if r['error']]
    if opts.update_expected and setup_errors and not opts.accept_setup_errors:
        print('expected failures: NOT rewritten: %d files could not run their tests '
              '(%s); fix that, or pass --accept-setup-errors to list their tests anyway'
              % (len(setup_errors), ', '.join(setup_errors[:5])
                 + (', ...' if len(setup_errors) > 5 else '')))
        status = 1
    elif opts.update_expected:
        new = save_expected(list_path, opts, results, expected)
        print('expected failures: wrote %d entries to %s' % (len(new), os.path.relpath(list_path)))
    else:
        regressions, unexpected, stale = judge(results, expected, full_run)
        verdict = {
            'regressions': [{'file': k[0], 'test': k[1], 'status': t['status'],
                             'message': t['message']} for k, t in regressions],
            'unexpected_passes': [{'file': k[0], 'test': k[1], 'reason': reason}
                                  for k, reason in unexpected],
            'stale_entries': [{'file': k[0], 'test': k[1]} for k in stale],
        }
        rel = os.path.relpath(list_path)
        not_run = {}
        for (f, name), t in regressions:
            if t['message'].startswith('not run:'):
                not_run[f] = not_run.get(f, 0) + 1
                continue
            print('REGRESSION %s | %s: %s' % (f, name, failure_summary(t['message'])))
        for f, count in sorted(not_run.items()):
            print('REGRESSION %s: %d tests not run (see the error for this file above)'
                  % (f, count))
        for (f, name), reason in unexpected:
            print('UNEXPECTED PASS %s | %s (listed: %s): remove it from %s' % (f, name, reason, rel))
        for f, name in stale:
            print('STALE ENTRY %s | %s: no such test ran; remove it from %s' % (f, name, rel))
        if regressions or unexpected or stale:
            status = 1
            print('expected failures: %d regressions, %d unexpected passes, %d stale '
                  'entries against %s' % (len(regressions), len(unexpected), len(stale), rel))
        else:
            print('expected failures: all %d failures are listed in %s'
                  % (failed, rel))

    if opts.json:
        doc = {
            'upstream': '%s==%s' % (UPSTREAM_DIST, UPSTREAM_VERSION),
            'server': opts.server,
            'binary': opts.binary,
            'db': opts.db,
            'finished_at': datetime.datetime.now(datetime.timezone.utc).isoformat(),
            'duration_s': round(elapsed, 1),
            'passed': passed,
            'failed': failed,
            'total': total,
            'expected_failures_file': os.path.relpath(list_path, REPO_ROOT),
            'exit_status': status,
            **verdict,
            'files': results,
        }
        with open(opts.json, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=1)
    print('conformance: %d passed, %d failed of %d' % (passed, failed, total))
    return status


if __name__ == '__main__':
    ensure_venv()
    sys.exit(main())
