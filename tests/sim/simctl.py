"""Start and drive the DEXMA API simulator (dexma_sim.py) from Python tests.

    import sys; sys.path.insert(0, "<repo>/tests/sim")
    from simctl import Simulator
    with Simulator(tokens={"0123456789abcdef0123": "demo"}) as sim:
        status, headers, body = sim.get("/locations", {"limit": 5})
        assert sim.count("/v3/locations") == 1

See README.md in this directory for the whole interface.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.environ.get("DX_SIM") or os.path.join(HERE, "dexma_sim.py")
DEFAULT_TOKEN = "0123456789abcdef0123"


class SimulatorError(RuntimeError):
	pass


class Simulator:
	"""One simulator process on a free loopback port, with its own log file.

	Usable as a context manager; the process is killed on exit even when the
	test fails.  stop() and start() restart the same configuration on the
	same port (rate-limit counters start afresh, data is the same)."""

	def __init__(self, tokens=None, hour_limit=1000, day_limit=10000, latency_ms=0,
			window_seconds=3600, extra_args=(), apps=None, startup_timeout=20.0):
		self.tokens = dict(tokens) if tokens else {DEFAULT_TOKEN: "demo"}
		self.token = next(iter(self.tokens))
		self.hour_limit = hour_limit
		self.day_limit = day_limit
		self.latency_ms = latency_ms
		self.window_seconds = window_seconds
		self.extra_args = list(extra_args)
		self.apps = list(apps or [])
		self.startup_timeout = startup_timeout
		self.tmpdir = tempfile.mkdtemp(prefix="dexma-sim-")
		self.log_path = os.path.join(self.tmpdir, "requests.jsonl")
		self.stderr_path = os.path.join(self.tmpdir, "stderr.txt")
		self.port = 0
		self.proc = None

	# -- lifecycle
	def __enter__(self):
		self.start()
		return self

	def __exit__(self, *exc):
		self.close()
		return False

	def _argv(self):
		argv = [sys.executable, SIM, "--host", "127.0.0.1", "--port", str(self.port),
			"--log", self.log_path, "--hour-limit", str(self.hour_limit),
			"--day-limit", str(self.day_limit), "--latency-ms", str(self.latency_ms),
			"--window-seconds", str(self.window_seconds)]
		for tok, dset in self.tokens.items():
			argv += ["--token", "%s=%s" % (tok, dset)]
		for app in self.apps:
			argv += ["--app", app]
		return argv + self.extra_args

	def start(self):
		if self.proc is not None:
			raise SimulatorError("simulator already running")
		err = open(self.stderr_path, "ab")
		try:
			self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL,
				stdout=subprocess.PIPE, stderr=err, start_new_session=True)
		finally:
			err.close()
		deadline = time.monotonic() + self.startup_timeout
		line = b""
		try:
			while not line.endswith(b"\n"):
				left = deadline - time.monotonic()
				if left <= 0:
					raise SimulatorError("simulator did not print its port" + self._stderr_tail())
				ready, _, _ = select.select([self.proc.stdout], [], [], left)
				if not ready:
					continue
				chunk = os.read(self.proc.stdout.fileno(), 1)
				if not chunk:
					raise SimulatorError("simulator exited early" + self._stderr_tail())
				line += chunk
			if not line.startswith(b"PORT "):
				raise SimulatorError("unexpected first line %r" % line)
			self.port = int(line.split()[1])
			while True:
				try:
					with urllib.request.urlopen(self.base + "/__sim/health", timeout=2) as r:
						if r.status == 200:
							break
				except (urllib.error.URLError, ConnectionError, OSError):
					pass
				if time.monotonic() > deadline:
					raise SimulatorError("simulator not healthy" + self._stderr_tail())
				time.sleep(0.05)
		except BaseException:
			self._kill()
			raise
		return self

	def _stderr_tail(self):
		try:
			with open(self.stderr_path, "rb") as f:
				return ": " + f.read()[-2000:].decode("utf-8", "replace")
		except OSError:
			return ""

	def _kill(self):
		proc, self.proc = self.proc, None
		if proc is None:
			return
		if proc.poll() is None:
			proc.send_signal(signal.SIGTERM)
			try:
				proc.wait(timeout=5)
			except subprocess.TimeoutExpired:
				proc.kill()
				proc.wait()
		if proc.stdout:
			proc.stdout.close()

	def stop(self):
		"""Stop the process; start() brings it back on the same port."""
		self._kill()

	def close(self):
		self._kill()
		shutil.rmtree(self.tmpdir, ignore_errors=True)

	@property
	def running(self):
		return self.proc is not None and self.proc.poll() is None

	# -- addresses
	@property
	def base(self):
		return "http://127.0.0.1:%d" % self.port

	@property
	def url(self):
		return self.base + "/v3"

	# -- log
	def requests(self, path_prefix=None):
		"""The logged API requests (dicts), oldest first."""
		out = []
		try:
			with open(self.log_path, encoding="utf-8") as f:
				for line in f:
					if not line.endswith("\n"):
						break  # a line being written
					entry = json.loads(line)
					if path_prefix is None or entry["path"].startswith(path_prefix):
						out.append(entry)
		except FileNotFoundError:
			pass
		return out

	def count(self, path_prefix=None, status=None):
		return sum(1 for e in self.requests(path_prefix) if status is None or e["status"] == status)

	def clear_log(self):
		with open(self.log_path, "w"):
			pass

	# -- admin
	def configure(self, **settings):
		"""POST /__sim/config; returns the new configuration."""
		req = urllib.request.Request(self.base + "/__sim/config", method="POST",
			data=json.dumps(settings).encode(), headers={"Content-Type": "application/json"})
		try:
			with urllib.request.urlopen(req, timeout=10) as r:
				return json.loads(r.read())
		except urllib.error.HTTPError as e:
			raise SimulatorError("configure failed: %s" % e.read().decode("utf-8", "replace")) from None

	# -- the clock and late values
	def now(self):
		"""The simulator's clock, seconds since the epoch."""
		with urllib.request.urlopen(self.base + "/__sim/config", timeout=10) as r:
			return json.loads(r.read())["now"]

	def set_now(self, t):
		"""Sets the simulator's clock (data exists only up to it)."""
		return self.configure(now=t)

	def advance(self, seconds):
		"""Moves the simulator's clock forward."""
		return self.configure(advance=seconds)

	def late(self, device_id, parameter_key, at, add, token_index=0):
		"""POST /__sim/late: the samples of the UTC hour holding `at` change
		by `add` units. Returns (status, object)."""
		body = {"device_id": device_id, "parameter_key": parameter_key, "at": at, "add": add,
			"token_index": token_index}
		req = urllib.request.Request(self.base + "/__sim/late", method="POST",
			data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
		try:
			with urllib.request.urlopen(req, timeout=10) as r:
				return r.status, json.loads(r.read())
		except urllib.error.HTTPError as e:
			return e.code, json.loads(e.read() or b"{}")

	def bytes(self, path_prefix=None):
		"""Sum of the logged answers' sizes in bytes."""
		return sum(e.get("bytes") or 0 for e in self.requests(path_prefix))

	# -- a small client for tests
	def get(self, path, params=None, token=None, headers=None, timeout=30, method="GET"):
		"""Request url + path; returns (status, headers dict with lower-case
		names, body bytes).  token=None uses sim.token, token="" sends none."""
		url = self.url + path
		if params:
			url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
		hdrs = dict(headers or {})
		tok = self.token if token is None else token
		if tok:
			hdrs["x-dexcell-token"] = tok
		req = urllib.request.Request(url, headers=hdrs, method=method)
		try:
			with urllib.request.urlopen(req, timeout=timeout) as r:
				return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
		except urllib.error.HTTPError as e:
			body = e.read()
			return e.code, {k.lower(): v for k, v in e.headers.items()}, body

	def get_json(self, path, params=None, token=None):
		status, hdrs, body = self.get(path, params, token)
		return status, (json.loads(body) if body else None)
