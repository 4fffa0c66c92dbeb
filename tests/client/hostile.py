"""A hostile HTTP server for the client and mount tests: a proxy in front of
the DEXMA simulator that forwards every request, except those matching a
rule, which it answers badly on purpose (endless paging, oversized or
wrong-shaped bodies, 5xx, dropped connections, slow answers). Standard
library only; runs in a thread of the test process.

    with HostileProxy(sim.base) as hp:
        hp.rule("/v3/devices", "fullpage")          # forever
        hp.rule("/v3/locations", "500", times=1)    # only the first match
        hp.url                                      # pass as -o api_url=...
        hp.count("/v3/devices")                     # requests seen, faulted or not
"""

import http.client
import http.server
import json
import socket
import struct
import threading
import time
import urllib.parse

PAGE = 500


class _Rule:
	def __init__(self, prefix, mode, times, delay):
		self.prefix, self.mode, self.times, self.delay = prefix, mode, times, delay


def _items(start, n):
	return [{"id": 9000000 + i, "name": "Item %d" % i, "status": "ACCEPTED"}
		for i in range(start, start + n)]


class _Handler(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"

	def log_message(self, fmt, *args):
		pass

	def do_GET(self):
		hp = self.server.proxy
		url = urllib.parse.urlsplit(self.path)
		rule = hp._match(url.path)
		if rule is None:
			return self._forward()
		if rule.delay:
			time.sleep(rule.delay)
		getattr(self, "_mode_" + rule.mode.replace("-", "_"))(url)

	def _send(self, status, body, ctype="application/json", length=True):
		self.send_response(status)
		self.send_header("Content-Type", ctype)
		if length:
			self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)

	def _forward(self):
		hp = self.server.proxy
		conn = http.client.HTTPConnection(hp.upstream_host, hp.upstream_port, timeout=60)
		headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
		try:
			conn.request("GET", self.path, headers=headers)
			r = conn.getresponse()
			body = r.read()
		except (OSError, http.client.HTTPException):
			# the upstream failed (a simulator fault): so does the proxy
			conn.close()
			return self._mode_drop(None)
		self.send_response(r.status)
		for k, v in r.getheaders():
			if k.lower() in ("content-type",) or k.lower().startswith("x-ratelimit") or \
					k.lower() == "retry-after":
				self.send_header(k, v)
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)
		conn.close()

	# -- the bad answers
	def _mode_fullpage(self, url):
		"""The same full page, whatever start says."""
		self._send(200, json.dumps(_items(0, PAGE)).encode())

	def _mode_endless(self, url):
		"""A full page of new items at every start: paging never ends."""
		q = urllib.parse.parse_qs(url.query)
		start = int(q.get("start", ["0"])[0])
		self._send(200, json.dumps(_items(start, PAGE)).encode())

	def _mode_endless100k(self, url):
		"""A listing of exactly 100,000 items: 200 full pages, then empty."""
		q = urllib.parse.parse_qs(url.query)
		start = int(q.get("start", ["0"])[0])
		self._send(200, json.dumps(_items(start, max(0, min(PAGE, 100000 - start)))).encode())

	def _mode_wrongshape(self, url):
		"""Valid JSON, wrong shape: an object for a list, a list for readings."""
		if url.path.startswith("/v3/readings"):
			body = b'[{"ts": "2024-01-01T00:00:00+01:00", "v": 1.0}]'
		else:
			body = b'{"items": [], "total": 0}'
		self._send(200, body)

	def _mode_oversized(self, url):
		"""A body far over any ceiling, streamed until the client hangs up."""
		self.send_response(200)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(1 << 40))
		self.end_headers()
		chunk = b'{"id": 1, "name": "x"},' * 40000
		try:
			self.wfile.write(b"[")
			for _ in range(400):   # about 1 GB at most
				self.wfile.write(chunk)
		except OSError:
			pass
		self.close_connection = True

	def _mode_500(self, url):
		self._send(500, b'{"status":500,"code":"E500","message":"Internal Server Error"}')

	def _mode_502(self, url):
		self._send(502, b"<html>Bad Gateway</html>", ctype="text/html")

	def _mode_drop(self, url):
		"""No answer: the connection is reset."""
		self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
			struct.pack("ii", 1, 0))
		self.close_connection = True

	def _mode_forward(self, url):
		"""Forwarded (after the rule's delay)."""
		self._forward()


class _Server(http.server.ThreadingHTTPServer):
	daemon_threads = True
	allow_reuse_address = True

	def handle_error(self, request, client_address):
		pass   # a client that hung up on a bad answer is the point


class HostileProxy:
	def __init__(self, upstream_base, host="127.0.0.1"):
		up = urllib.parse.urlsplit(upstream_base)
		self.upstream_host, self.upstream_port = up.hostname, up.port
		self._lock = threading.Lock()
		self._rules = []
		self._log = []
		self.server = _Server((host, 0), _Handler)
		self.server.proxy = self
		self.port = self.server.server_address[1]
		self.url = "http://%s:%d/v3" % (host, self.port)
		self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

	def __enter__(self):
		self._thread.start()
		return self

	def __exit__(self, *exc):
		self.close()

	def close(self):
		self.server.shutdown()
		self.server.server_close()

	def rule(self, prefix, mode, times=-1, delay=0.0):
		"""Answers requests whose path starts with prefix in the given mode,
		times times (-1: forever), after delay seconds. The newest rule
		that matches wins."""
		with self._lock:
			self._rules.insert(0, _Rule(prefix, mode, times, delay))

	def clear_rules(self):
		with self._lock:
			self._rules = []

	def _match(self, path):
		with self._lock:
			self._log.append((time.time(), path))
			for r in self._rules:
				if path.startswith(r.prefix) and r.times != 0:
					if r.times > 0:
						r.times -= 1
					return r
		return None

	def requests(self, prefix=""):
		with self._lock:
			return [(t, p) for t, p in self._log if p.startswith(prefix)]

	def count(self, prefix=""):
		return len(self.requests(prefix))

	def clear_log(self):
		with self._lock:
			self._log = []
