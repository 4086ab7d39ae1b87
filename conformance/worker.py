"""Runs one upstream gabbi YAML file against one live server.

`run.py` starts this script once per YAML file, in a fresh process group,
with a spec (JSON) naming the file, an empty database it created, the server
to start and where to write the result. This process:

1. starts the file's `fixtures:` with upstream's own fixture classes
   (placement.tests.functional.fixtures.gabbits), pointed at the given
   database instead of an in-memory SQLite one. They create the schema from
   upstream's models, sync the standard traits and resource classes, write
   their data through upstream's object code and export the $ENVIRON values
   the YAML refers to;
2. writes a placement.conf (and a policy file) mirroring what the fixtures
   configured in their in-process oslo.config object;
3. starts the server (ours, or upstream under gunicorn) on a loopback port and
   waits until `GET /` answers;
4. runs the file's tests with gabbi over real HTTP, with the suite-level
   fixtures replaced by no-ops (they already ran in step 1);
5. stops the server, then the fixtures, and writes the per-test outcomes.

Nothing here alters a test: the YAML is loaded as upstream ships it.
"""

import argparse
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import traceback
import types
import unittest

# Importing upstream's fixture module costs about a second; it is needed by
# every run of this script anyway.
from gabbi import fixture as gabbi_fixture
from gabbi import handlers as gabbi_handlers
from gabbi import suitemaker
from gabbi import utils as gabbi_utils
from oslo_config import cfg
import yaml

from placement.tests import fixtures as upstream_db_fixtures
from placement.tests.functional.fixtures import gabbits as upstream_gabbits
from placement.tests.unit import policy_fixture as upstream_policy_fixture

# Longest a failure message kept in the result may be, in characters.
MESSAGE_LIMIT = 4000
# Lines of the server log shown when it does not come up.
LOG_TAIL_LINES = 60


class ServerStartError(Exception):
    """The server exited or did not answer `GET /` in time."""

    def __init__(self, message, address_in_use=False):
        super().__init__(message)
        self.address_in_use = address_in_use


# --------------------------------------------------------------------------
# Hooks into upstream's fixtures
# --------------------------------------------------------------------------

class _Recorded:
    """What the fixtures configured that does not live in oslo.config."""

    db_url = None
    # Policy rules a fixture set on the enforcer (OpenPolicyFixture), merged
    # in call order; None when no fixture set any.
    policy_rules = None


def _install_hooks(db_url):
    """Points upstream's Database fixture at our database and records
    policy rules that fixtures set on the enforcer.

    Both are monkeypatches of module attributes upstream's fixtures look up
    at call time; upstream's code itself runs unchanged.
    """
    _Recorded.db_url = db_url
    upstream_database = upstream_db_fixtures.Database

    class ExternalDatabase(upstream_database):
        """upstream's Database fixture with the connection set to ours.

        Upstream only falls back to in-memory SQLite when no connection is
        configured, so configuring ours first is all it takes.
        """

        def __init__(self, conf_fixture, set_config=False):
            try:
                conf_fixture.register_opt(
                    cfg.StrOpt('connection'), group='placement_database')
            except cfg.DuplicateOptError:
                pass
            conf_fixture.config(
                connection=_Recorded.db_url, group='placement_database')
            super().__init__(conf_fixture, set_config=set_config)

    upstream_db_fixtures.Database = ExternalDatabase

    upstream_set_rules = upstream_policy_fixture.PolicyFixture.set_rules

    def recording_set_rules(rules, overwrite=True):
        if overwrite or _Recorded.policy_rules is None:
            _Recorded.policy_rules = {}
        _Recorded.policy_rules.update(
            {name: str(rule) for name, rule in rules.items()})
        return upstream_set_rules(rules, overwrite=overwrite)

    upstream_policy_fixture.PolicyFixture.set_rules = staticmethod(
        recording_set_rules)


# --------------------------------------------------------------------------
# Configuration written for the server
# --------------------------------------------------------------------------

# Groups copied whole from the fixture's configuration, so the server runs
# with exactly what the in-process app would have seen (auth strategy, policy
# enforcement mode, CORS, incomplete-consumer ids, allocation-candidate
# limits, workarounds). Our server ignores keys it does not know.
COPIED_GROUPS = ('api', 'placement', 'workarounds', 'oslo_policy', 'cors')
# Options never copied: paths we set ourselves.
SKIPPED_OPTS = {('oslo_policy', 'policy_file'), ('oslo_policy', 'policy_dirs')}


def _ini_value(value):
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return str(value)


def _group_values(conf, group):
    """(name, value) of every set option in one group of `conf`."""
    try:
        group_obj = conf[group]
    except (cfg.NoSuchOptError, KeyError):
        return []
    values = []
    for name in sorted(group_obj):
        if (group, name) in SKIPPED_OPTS:
            continue
        try:
            value = group_obj[name]
        except cfg.Error:
            continue
        if value is None or isinstance(value, dict):
            continue
        if isinstance(value, (list, tuple)) and not value:
            continue
        values.append((name, _ini_value(value)))
    return values


def write_server_config(workdir, db_url):
    """Writes placement.conf and policy.yaml into `workdir`; returns the
    path of placement.conf."""
    conf = upstream_gabbits.CONF
    if conf is None:
        raise RuntimeError('no APIFixture ran: the file has no configuration')
    policy_path = os.path.join(workdir, 'policy.yaml')
    with open(policy_path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(_Recorded.policy_rules or {}, f, default_flow_style=False)

    lines = [
        '# Written by conformance/worker.py from the gabbi fixture configuration.',
        '[DEFAULT]',
        'debug = False',
        '',
        '[placement_database]',
        'connection = %s' % db_url,
        # The fixture already created the schema at upstream's head.
        'sync_on_startup = False',
        '',
    ]
    for group in COPIED_GROUPS:
        lines.append('[%s]' % group)
        if group == 'oslo_policy':
            lines.append('policy_file = %s' % policy_path)
        for name, value in _group_values(conf, group):
            lines.append('%s = %s' % (name, value))
        lines.append('')
    conf_path = os.path.join(workdir, 'placement.conf')
    with open(conf_path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines))
    return conf_path


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

def _log_tail(path, lines=LOG_TAIL_LINES):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            content = f.read().splitlines()
    except OSError as exc:
        return '(no server log: %s)' % exc
    tail = content[-lines:]
    return '\n'.join(tail) if tail else '(server log is empty)'


def free_port():
    """A currently free TCP port on 127.0.0.1 (bind to port 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def server_argv(spec, conf_path, bind):
    if spec['server'] == 'python':
        return [sys.executable, '-m', 'gunicorn',
                '--bind', bind,
                '--workers', '1', '--worker-class', 'sync',
                '--timeout', '120', '--graceful-timeout', '5',
                '--no-control-socket',
                '--error-logfile', '-',
                'placement.wsgi.api:application']
    return [spec['binary'], '--config-file', conf_path, '--bind', bind]


def start_server(spec, conf_path, attempts=3):
    """Starts the server on a free loopback port and waits for `GET /`.

    Returns (Popen, port, log path). The port is found by binding port 0 and
    releasing it, so another process may take it first: a server that exits
    complaining the address is in use is retried on a new port.
    """
    for attempt in range(1, attempts + 1):
        try:
            return _start_server_once(spec, conf_path, free_port(), attempt)
        except ServerStartError as exc:
            if attempt == attempts or not exc.address_in_use:
                raise
    raise AssertionError('unreachable')


def _start_server_once(spec, conf_path, port, attempt):
    workdir = spec['workdir']
    bind = '127.0.0.1:%d' % port
    env = dict(os.environ)
    if spec['server'] == 'python':
        env['OS_PLACEMENT_CONFIG_DIR'] = workdir
    argv = server_argv(spec, conf_path, bind)
    log_path = os.path.join(workdir, 'server.log' if attempt == 1
                            else 'server-%d.log' % attempt)
    with open(log_path, 'wb') as log:
        try:
            proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise ServerStartError('cannot start %s: %s' % (argv[0], exc))

    deadline = time.monotonic() + spec['startup_timeout']
    last_error = None
    while True:
        code = proc.poll()
        if code is not None:
            tail = _log_tail(log_path)
            raise ServerStartError(
                'server exited with status %s before answering GET / on %s\n'
                'command: %s\n--- server log (last lines) ---\n%s'
                % (code, bind, ' '.join(argv), tail),
                address_in_use=bool(re.search(r'(?i)address already in use|addrinuse|'
                                              r'connection in use', tail)))
        try:
            connection = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
            try:
                connection.request('GET', '/')
                connection.getresponse().read()
            finally:
                connection.close()
            return proc, port, log_path
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            stop_server(proc)
            raise ServerStartError(
                'server did not answer GET / on %s within %ss (last error: %s)\n'
                'command: %s\n--- server log (last lines) ---\n%s'
                % (bind, spec['startup_timeout'], last_error, ' '.join(argv),
                   _log_tail(log_path)))
        time.sleep(0.05)


def stop_server(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

class OutcomeCollector(unittest.TestResult):
    """Records one outcome per gabbi test, in run order."""

    def __init__(self):
        super().__init__()
        self.outcomes = []

    def _record(self, test, status, message=''):
        name = getattr(test, 'test_data', {}).get('name') or test.id()
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + '\n...(truncated)'
        self.outcomes.append({'name': name, 'status': status, 'message': message})

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, 'pass')

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, 'fail', self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, 'error', self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, 'skip', reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, 'pass', 'expected failure (xfail)')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, 'fail', 'unexpected success (xfail)')


def build_suite(yaml_path, suite_dict, port):
    """The file's gabbi suite aimed at 127.0.0.1:port, built the way
    gabbi.driver.build_tests builds one, with no-op suite fixtures."""
    handler_objects = [handler() for handler in gabbi_handlers.RESPONSE_HANDLERS]
    noop_fixtures = types.SimpleNamespace(**{
        name: gabbi_fixture.GabbiFixture for name in suite_dict.get('fixtures') or []})
    base_name = os.path.splitext(os.path.basename(yaml_path))[0]
    return suitemaker.test_suite_from_dict(
        unittest.TestLoader(), base_name, suite_dict,
        os.path.dirname(yaml_path), '127.0.0.1', port, noop_fixtures, None,
        prefix='', handlers=handler_objects, test_loader_name='conformance')


def run(spec):
    result = {'file': os.path.basename(spec['yaml']), 'tests': [], 'error': None,
              'phases': {}}
    suite_dict = gabbi_utils.load_yaml(yaml_file=spec['yaml'], safe=True)
    _install_hooks(spec['db_url'])
    started = []
    proc = None
    t0 = time.monotonic()
    try:
        for name in suite_dict.get('fixtures') or []:
            fix = getattr(upstream_gabbits, name)()
            fix.start_fixture()
            started.append(fix)
        # Upstream's fixtures build the schema with create_all() and leave no
        # alembic_version. It is served exactly as they leave it: the server
        # must run on such a database without migrating or stamping it.
        result['phases']['fixtures_s'] = round(time.monotonic() - t0, 3)
        # The fixtures turned on DEBUG logging to stderr (worker.log); the
        # HTTP client's per-request chatter would drown the useful part.
        for noisy in ('httpx', 'httpcore'):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        conf_path = write_server_config(spec['workdir'], spec['db_url'])
        t1 = time.monotonic()
        proc, port, log_path = start_server(spec, conf_path)
        result['phases']['server_start_s'] = round(time.monotonic() - t1, 3)
        result['port'] = port
        t2 = time.monotonic()
        suite = build_suite(spec['yaml'], suite_dict, port)
        collector = OutcomeCollector()
        suite.run(collector)
        result['tests'] = collector.outcomes
        result['phases']['tests_s'] = round(time.monotonic() - t2, 3)
        if proc.poll() is not None:
            result['error'] = (
                'server exited with status %s while the tests ran\n'
                '--- server log (last lines) ---\n%s' % (proc.returncode, _log_tail(log_path)))
    except ServerStartError as exc:
        result['error'] = str(exc)
    except Exception:
        result['error'] = 'runner error:\n' + traceback.format_exc()
    finally:
        if proc is not None:
            stop_server(proc)
            result['server_exit_code'] = proc.returncode
        for fix in reversed(started):
            try:
                fix.stop_fixture()
            except Exception:
                # The database is dropped by run.py anyway; a fixture that
                # fails to clean up must not hide the test outcomes.
                result.setdefault('cleanup_errors', []).append(
                    traceback.format_exc(limit=3))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('spec', help='JSON file written by run.py')
    args = parser.parse_args()
    with open(args.spec, encoding='utf-8') as f:
        spec = json.load(f)
    result = run(spec)
    tmp = spec['result'] + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(result, f)
    os.replace(tmp, spec['result'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
