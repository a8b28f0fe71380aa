"""chat-server as a child process for the Python tests (tests/irc, tests/web): listening on
ephemeral loopback ports read from its log, its log kept for a failure's report, and stopped and
cleaned up at the end."""

import queue
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
import time


class ChatServerProcess:
    # The chat port's log line; a test names the others it needs (see start).
    LISTEN = r"listening on 127\.0\.0\.1:(\d+) with \d+ shard\(s\)"

    def __init__(self, binary, data_dir_prefix, error=RuntimeError):
        self.binary = binary
        self.error = error  # what start raises, the test's own failure type
        self.data_dir = tempfile.mkdtemp(prefix=data_dir_prefix)
        self.lines = []
        self.lines_lock = threading.Lock()
        self.line_queue = queue.Queue()
        self.proc = None
        self.ports = {}

    def start(self, args, ports, required_flags=(), seconds=30):
        """Runs the binary with args and --data-dir, and waits until the log names every port:
        ports maps a name to a pattern whose group 1 is the port (self.ports[name] then)."""
        help_text = subprocess.run([self.binary, "--help"], capture_output=True, text=True, timeout=30).stdout
        for flag in required_flags:
            if flag not in help_text:
                raise self.error(f"chat-server --help does not list {flag}")
        args = [self.binary, *args, "--data-dir", self.data_dir]
        print("starting:", shlex.join(args), flush=True)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        threading.Thread(target=self._read_log, daemon=True).start()
        patterns = {name: re.compile(pattern) for name, pattern in ports.items()}
        end = time.monotonic() + seconds
        while len(self.ports) < len(patterns):
            left = end - time.monotonic()
            if left <= 0:
                raise self.error("timed out waiting for the server's listening lines")
            try:
                line = self.line_queue.get(timeout=min(0.5, left))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise self.error(f"chat-server exited with {self.proc.returncode} before listening")
                continue
            if line is None:
                raise self.error("chat-server closed its stderr before listening")
            for name, pattern in patterns.items():
                if m := pattern.search(line):
                    self.ports[name] = int(m.group(1))
        if len(set(self.ports.values())) != len(self.ports):
            raise self.error(f"two listeners share a port: {self.ports}")

    def _read_log(self):
        for line in self.proc.stderr:
            with self.lines_lock:
                self.lines.append(line.rstrip("\n"))
            self.line_queue.put(line)
        self.line_queue.put(None)

    def log_tail(self, n=40):
        with self.lines_lock:
            return self.lines[-n:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.data_dir, ignore_errors=True)
