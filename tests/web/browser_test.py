#!/usr/bin/env python3
"""The browser client end to end: a real chat-server, two headless Chromium tabs (ann and ben), one
terminal client (tom, chat-client --script) and one IRC client (ivy, raw socket) in the same room.

Checks messages in every direction, that IRC sees the room in the browser's order with no gap or
duplicate, scroll-back, edit and delete, that HTML in messages stays text, and that both tabs
resume without gap or duplicate after the server restarts on the same ports.
Screenshots go to --screenshot-dir.

  browser_test.py --server-binary PATH --client-binary PATH --screenshot-dir DIR [--web-root DIR]

--web-root serves the client's files from a directory through a small proxy (which forwards /ws to
the server) instead of the files built into the server: for working on the client without
rebuilding the server.
"""

import argparse
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77  # ctest's SKIP_RETURN_CODE: no browser to test with

try:
    from selenium import webdriver
except ImportError:  # a Python of its own (pyenv, venv) does not see Debian's python3-selenium
    sys.path.append('/usr/lib/python3/dist-packages')
    try:
        from selenium import webdriver
    except ImportError:
        print('browser_test: skipped: no selenium (apt install python3-selenium)', file=sys.stderr)
        sys.exit(SKIP)
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
ROOM = 'lobby'
BACKLOG = 150
WAIT_S = 20
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_until(predicate, what, timeout=WAIT_S, interval=0.05):
    """Polls predicate until it returns something truthy; a TestFailure naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TestFailure(f'timed out after {timeout} s waiting for {what}')
        time.sleep(interval)


def log(text):
    print(f'[browser_test] {text}', flush=True)


# ---- processes ---------------------------------------------------------------------------------

class LineReader:
    """Collects a pipe's lines on a thread."""

    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for raw in iter(stream.readline, b''):
            with self.lock:
                self.lines.append(raw.decode('utf-8', 'replace').rstrip('\n'))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def text(self):
        return '\n'.join(self.snapshot())


class Server:
    def __init__(self, binary, data_dir, chat_port=0, web_port=0, irc_port=0):
        self.args = [binary, '--listen', f'127.0.0.1:{chat_port}', '--web', f'127.0.0.1:{web_port}',
                     '--irc-listen', f'127.0.0.1:{irc_port}',
                     '--http', '', '--data-dir', data_dir, '--messages-per-second', '0',
                     '--bytes-per-second', '0', '--hash-cost', 'minimum']
        self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.stderr = LineReader(self.process.stderr)
        self.chat_port = self._logged_port(r'listening on 127\.0\.0\.1:(\d+) with \d+ shard')
        self.web_port = self._logged_port(r'web client on http://127\.0\.0\.1:(\d+)/')
        self.irc_port = self._logged_port(r'irc on 127\.0\.0\.1:(\d+)')

    def _logged_port(self, pattern):
        def find():
            if self.process.poll() is not None:
                raise TestFailure(f'chat-server exited ({self.process.returncode}):\n{self.stderr.text()}')
            match = re.search(pattern, self.stderr.text())
            return int(match.group(1)) if match else None
        return wait_until(find, f'chat-server to log /{pattern}/', timeout=15)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ScriptClient:
    """chat-client --script: commands on stdin, one JSON object per line on stdout."""

    def __init__(self, binary, port, nick, room):
        self.process = subprocess.Popen(
            [binary, '--nick', nick, '--server', f'127.0.0.1:{port}', '--room', room, '--script'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout = LineReader(self.process.stdout)
        self.stderr = LineReader(self.process.stderr)

    def say(self, line):
        self.process.stdin.write((line + '\n').encode())
        self.process.stdin.flush()

    def events(self, name=None):
        found = []
        for line in self.stdout.snapshot():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get('event') == name:
                found.append(event)
        return found

    def saw_text(self, text):
        return any(event.get('data', {}).get('text') == text for event in self.events('room_message'))

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
                self.process.kill()
                self.process.wait()


class IrcUser:
    """A raw-socket IRC client in the room (server-time, message-tags, echo-message): every
    PRIVMSG to the channel is kept with its sequence from the msgid tag."""

    def __init__(self, port, nick, room):
        self.nick, self.channel = nick, '#' + room
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=WAIT_S)
        self.lock = threading.Lock()
        self.messages = []  # (seq, nick, text)
        self.lines = []
        self.registered = threading.Event()
        self.joined = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        self.send('CAP LS 302')
        self.send('CAP REQ :server-time message-tags echo-message')
        self.send(f'NICK {nick}')
        self.send(f'USER {nick} 0 * :{nick}')
        self.send('CAP END')
        wait_until(self.registered.is_set, f'{nick} (IRC) to register')
        self.send(f'JOIN {self.channel}')
        wait_until(self.joined.is_set, f'{nick} (IRC) to join {self.channel}')

    def send(self, line):
        self.sock.sendall((line + '\r\n').encode())

    def say(self, text):
        self.send(f'PRIVMSG {self.channel} :{text}')

    def _read(self):
        buffer = b''
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b'\n' in buffer:
                raw, buffer = buffer.split(b'\n', 1)
                self._line(raw.rstrip(b'\r').decode('utf-8', 'replace'))

    def _line(self, line):
        with self.lock:
            self.lines.append(line)
        tags = {}
        if line.startswith('@'):
            tag_text, line = line[1:].split(' ', 1)
            tags = dict(t.split('=', 1) if '=' in t else (t, '') for t in tag_text.split(';'))
        source = ''
        if line.startswith(':'):
            source, line = line[1:].split(' ', 1)
        command, _, rest = line.partition(' ')
        if command == 'PING':
            self.send('PONG ' + rest)
        elif command == '001':
            self.registered.set()
        elif command == '366':
            self.joined.set()
        elif command == 'PRIVMSG':
            target, _, text = rest.partition(' :')
            if target.lower() == self.channel.lower() and 'msgid' in tags:
                with self.lock:
                    self.messages.append((int(tags['msgid'].split('/')[0]), source.split('!')[0], text))

    def saw_text(self, text):
        with self.lock:
            return any(t == text for _, _, t in self.messages)

    def shown(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        try:
            self.send('QUIT :bye')
        except OSError:
            pass
        self.sock.close()


class DevProxy:
    """Serves --web-root's files and forwards /ws to the server's web port (which stays the same
    across the restart), so the client can be tried without rebuilding the server."""

    def __init__(self, web_root, upstream_port):
        self.web_root = os.path.realpath(web_root)
        self.upstream_port = upstream_port
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        try:
            head = b''
            while b'\r\n\r\n' not in head:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                head += chunk
            path = head.split(b' ', 2)[1].decode()
            if path.split('?')[0] == '/ws':
                self._tunnel(connection, head)
            else:
                self._file(connection, path.split('?')[0])
        except OSError:
            pass
        finally:
            connection.close()

    def _tunnel(self, connection, head):
        try:
            upstream = socket.create_connection(('127.0.0.1', self.upstream_port), timeout=5)
        except OSError:
            return  # the server is down: the browser sees a failed WebSocket
        upstream.settimeout(None)
        upstream.sendall(head)

        def pump(source, target):
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    target.sendall(data)
            except OSError:
                pass
            for side in (source, target):
                try:
                    side.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        other = threading.Thread(target=pump, args=(upstream, connection), daemon=True)
        other.start()
        pump(connection, upstream)
        other.join()
        upstream.close()

    def _file(self, connection, path):
        types = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                 '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png'}
        relative = 'index.html' if path == '/' else path.lstrip('/')
        full = os.path.realpath(os.path.join(self.web_root, relative))
        extension = os.path.splitext(full)[1]
        if not full.startswith(self.web_root + os.sep) or not os.path.isfile(full) or extension not in types:
            body, status, kind = b'not found\n', '404 Not Found', 'text/plain'
        else:
            with open(full, 'rb') as file:
                body, status, kind = file.read(), '200 OK', types[extension]
        connection.sendall((f'HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n'
                            f'Content-Security-Policy: {CSP}\r\nCache-Control: no-store\r\n'
                            'Connection: close\r\n\r\n').encode() + body)

    def close(self):
        self.listener.close()


# ---- browsers ----------------------------------------------------------------------------------

def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=1280,800',
                 '--disable-dev-shm-usage'):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(10)
    return driver


class Tab:
    def __init__(self, driver, nick):
        self.driver = driver
        self.nick = nick
        self.console = []

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def state(self):
        return self.js('return window.chatDebug ? window.chatDebug.state() : null;')

    def wait(self, predicate, what, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(lambda _: predicate())
        except TimeoutException:
            raise TestFailure(f'{self.nick}: timed out after {timeout} s waiting for {what}') from None

    def login(self, url, password='', register=False, nick=None):
        self.driver.get(url)
        self.wait(lambda: self.driver.find_element(By.ID, 'login-nick').is_displayed(), 'the login form')
        self.fill_login(nick or self.nick, password)
        self.driver.find_element(By.ID, 'register-button' if register else 'login-button').click()

    def fill_login(self, nick, password):
        for field, value in (('login-nick', nick), ('login-password', password)):
            element = self.driver.find_element(By.ID, field)
            element.clear()
            if value:
                element.send_keys(value)

    def wait_logged_in(self):
        self.wait(lambda: (self.state() or {}).get('connected') and self.state().get('currentRoom') == ROOM,
                  f'being logged in and in {ROOM}')

    def send(self, text):
        composer = self.driver.find_element(By.ID, 'composer')
        composer.send_keys(text)
        composer.send_keys(Keys.ENTER)

    def messages(self):
        """(seq, nick, text, classes) of every message shown, in document order."""
        return self.js("""
            return [...document.querySelectorAll('#messages .message')].map((m) => [
              Number(m.dataset.seq), m.dataset.nick, m.querySelector('.text').textContent, m.className]);""")

    def message_with_text(self, text):
        for seq, nick, shown, classes in self.messages():
            if shown == text:
                return {'seq': seq, 'nick': nick, 'classes': classes.split()}
        return None

    def wait_text(self, text, timeout=WAIT_S):
        return self.wait(lambda: self.message_with_text(text), f'the message {text!r}', timeout)

    def viewport(self, width, height, mobile=False):
        """Exactly this viewport (a window size would include the browser's frame)."""
        self.driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
            'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': mobile})

    def banner(self):
        return self.js("return document.getElementById('banner').dataset.state;")

    def collect_console(self):
        try:
            self.console.extend(self.driver.get_log('browser'))
        except Exception:  # noqa: BLE001 - a crashed browser has no log to give
            pass


def check_sequence(tab, what):
    """The tab's sequences: ascending, without gap or duplicate."""
    seqs = [seq for seq, *_ in tab.messages()]
    check(seqs, f'{tab.nick}: no messages shown ({what})')
    duplicates = sorted({seq for seq in seqs if seqs.count(seq) > 1})
    check(not duplicates, f'{tab.nick}: duplicate sequences {duplicates} ({what})')
    check(seqs == sorted(seqs), f'{tab.nick}: sequences out of order ({what}): {seqs}')
    missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
    check(not missing, f'{tab.nick}: gap, missing sequences {missing} ({what})')
    return seqs


# ---- the test ----------------------------------------------------------------------------------

def fetch(port, path):
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    connection.request('GET', path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def check_served(port):
    """The page and every script and stylesheet it names are served (a server built before a file
    was added to web/ lacks it)."""
    status, body = fetch(port, '/')
    check(status == 200 and b'id="login-form"' in body,
          f'GET / on port {port} gave {status}, not the client ({body[:200]!r}): is web/ built into the server?')
    files = re.findall(rb'(?:src|href)="([^":]+\.(?:js|css))"', body)
    for name in files:
        status, script = fetch(port, '/' + name.decode().lstrip('/'))
        check(status == 200, f'GET /{name.decode()} gave {status}: rebuild the server after changing web/')
        for imported in re.findall(rb'from \'\./([^\']+)\'', script):
            path = os.path.normpath(os.path.join(os.path.dirname('/' + name.decode()), imported.decode()))
            status, _ = fetch(port, path)
            check(status == 200, f'GET {path} gave {status}: rebuild the server after changing web/')


def run(args, processes, tabs):
    data_dir = processes['tmp']
    server = processes['server'] = Server(args.server_binary, data_dir)
    log(f'chat-server: chat port {server.chat_port}, web port {server.web_port}')
    web_port = server.web_port
    if args.web_root:
        processes['proxy'] = DevProxy(args.web_root, server.web_port)
        web_port = processes['proxy'].port
        log(f'serving {args.web_root} on port {web_port}, /ws forwarded to {server.web_port}')
    url = f'http://127.0.0.1:{web_port}/'
    check_served(web_port)

    tom = processes['tom'] = ScriptClient(args.client_binary, server.chat_port, 'tom', ROOM)
    ivy = processes['ivy'] = IrcUser(server.irc_port, 'ivy', ROOM)
    wait_until(lambda: tom.events('joined'), f'tom (chat-client --script) to join {ROOM}')
    for n in range(1, BACKLOG + 1):
        tom.say(f'backlog {n}')
    wait_until(lambda: len(tom.events('sent')) >= BACKLOG, f'tom to send {BACKLOG} messages')
    log(f'tom sent {BACKLOG} messages')

    ann = Tab(start_browser(), 'ann')
    tabs.append(ann)
    ben = Tab(start_browser(), 'ben')
    tabs.append(ben)

    # A nick in use is refused on the login screen; then ben registers.
    ann.login(url)
    ann.wait_logged_in()
    ben.login(url, nick='ann')
    ben.wait(lambda: 'in use' in ben.driver.find_element(By.ID, 'login-error').text, 'a "nick in use" error')
    ben.fill_login('ben', 'ben-secret')
    ben.driver.find_element(By.ID, 'register-button').click()
    ben.wait_logged_in()
    log('ann logged in as a guest, ben registered')
    for tab in (ann, ben):
        tab.wait_text(f'backlog {BACKLOG}')
        tab.wait(lambda tab=tab: tab.driver.find_elements(By.CSS_SELECTOR, '#members .member[data-nick="tom"]'),
                 'tom in the member list')

    # Messages in every direction.
    ann.send('hello from ann')
    ben.wait_text('hello from ann')
    wait_until(lambda: tom.saw_text('hello from ann'), 'tom to see ann\'s message')
    check('own' in ann.wait_text('hello from ann')['classes'], 'ann\'s own message is not marked own')
    check('own' not in ben.message_with_text('hello from ann')['classes'], 'ann\'s message is marked own for ben')
    ben.send('hello from ben')
    ann.wait_text('hello from ben')
    wait_until(lambda: tom.saw_text('hello from ben'), 'tom to see ben\'s message')
    tom.say('hello from tom')
    ann.wait_text('hello from tom')
    ben.wait_text('hello from tom')
    wait_until(lambda: ivy.saw_text('hello from ann') and ivy.saw_text('hello from tom'),
               'ivy (IRC) to see the browser\'s and the terminal\'s messages')
    ivy.say('hello from ivy')
    for tab in (ann, ben):
        tab.wait_text('hello from ivy')
    wait_until(lambda: tom.saw_text('hello from ivy'), 'tom to see ivy\'s IRC message')
    ann.send('/me waves')
    check('action' in ben.wait_text('waves')['classes'], '/me is not shown as an action')
    log('messages went between browsers, terminal and IRC in every direction')

    # Scroll-back: scrolled to the top, an older page comes in above what was shown, which stays
    # in view; scrolling on reaches the first message.
    oldest = min(seq for seq, *_ in ben.messages())
    check(oldest > 1, f'ben shows seq {oldest} already before scrolling back')
    top_message = f'#messages .message[data-seq="{oldest}"]'
    ben.js("document.getElementById('messages').scrollTop = 0;")
    ben.wait(lambda: min(seq for seq, *_ in ben.messages()) < oldest, 'an older page after scrolling to the top')
    kept = ben.js(f"""const box = document.getElementById('messages').getBoundingClientRect();
        const top = document.querySelector('{top_message}').getBoundingClientRect();
        return top.bottom > box.top && top.top < box.bottom;""")
    check(kept, 'the message at the top before scroll-back is out of view after it (scroll position lost)')

    def scrolled_to_first():
        ben.js("document.getElementById('messages').scrollTop = 0;")
        return any(seq == 1 for seq, *_ in ben.messages())
    ben.wait(scrolled_to_first, 'scroll-back to reach seq 1')
    check_sequence(ben, 'after scroll-back')
    log('scroll-back paged in everything down to seq 1, keeping the scroll position')

    # Edit and delete by ann show in ben's tab.
    ann.send('to be edited')
    ann.send('to be deleted')
    edited = ben.wait_text('to be edited')
    deleted = ben.wait_text('to be deleted')
    ann.wait_text('to be deleted')
    ann_message = ann.driver.find_element(By.CSS_SELECTOR, f'#messages .message[data-seq="{edited["seq"]}"]')
    ann_message.find_element(By.CSS_SELECTOR, '.edit-button').click()
    editor = ann.wait(lambda: ann_message.find_elements(By.CSS_SELECTOR, '.edit-input'), 'the edit input')[0]
    editor.send_keys(Keys.CONTROL, 'a')
    editor.send_keys('edited text')
    editor.send_keys(Keys.ENTER)
    selector = f'#messages .message[data-seq="{edited["seq"]}"]'
    ben.wait(lambda: ben.js(f"""const m = document.querySelector('{selector}');
        return m && m.classList.contains('edited') && m.querySelector('.text').textContent === 'edited text';"""),
             'the edit to show')
    ann.driver.find_element(By.CSS_SELECTOR, f'#messages .message[data-seq="{deleted["seq"]}"] .delete-button').click()
    selector = f'#messages .message[data-seq="{deleted["seq"]}"]'
    ben.wait(lambda: ben.js(f"""const m = document.querySelector('{selector}');
        return m && m.classList.contains('deleted') && m.querySelector('.text').textContent === 'message deleted';"""),
             'the delete to show')
    check(not ben.driver.find_elements(By.CSS_SELECTOR, '#messages .message:not(.own) .edit-button'),
          'ben has edit buttons on messages that are not his')
    log('an edit and a delete by ann showed in ben\'s tab')

    # HTML in a message stays text.
    hostile = ['<img src=x onerror=alert(1)>', '<script>alert(2)</script>']
    for text in hostile:
        ann.send(text)
    tom.say('<b>bold?</b> https://example.com/a?b=1')
    for tab in (ann, ben):
        for text in hostile + ['<b>bold?</b> https://example.com/a?b=1']:
            tab.wait_text(text)
        check(not tab.driver.find_elements(By.CSS_SELECTOR, '#messages img, #messages script, #messages b'),
              f'{tab.nick}: message text became elements')
        links = tab.driver.find_elements(By.CSS_SELECTOR, '#messages .message .text a')
        check(any(a.get_attribute('href') == 'https://example.com/a?b=1' and
                  a.get_attribute('rel') == 'noopener noreferrer' for a in links), f'{tab.nick}: no safe link')
        try:
            tab.driver.switch_to.alert
            raise TestFailure(f'{tab.nick}: an alert opened')
        except NoAlertPresentException:
            pass
    log('HTML in messages was shown as text')

    # The room seen from IRC is the room the browser shows: one order, no gap, no duplicate.
    ann_before = check_sequence(ann, 'before the restart')
    wait_until(lambda: any(seq == ann_before[-1] for seq, _, _ in ivy.shown()),
               f'ivy (IRC) to see seq {ann_before[-1]}')
    irc_seqs = [seq for seq, _, text in ivy.shown() if not text.startswith('(edited) ')]
    check(irc_seqs == sorted(set(irc_seqs)), f'ivy (IRC): sequences out of order or repeated: {irc_seqs}')
    # ann's tab shows a contiguous run up to the last seq (checked above): IRC must have every
    # sequence from its first up to that one.
    expected = list(range(irc_seqs[0], ann_before[-1] + 1))
    check(irc_seqs == expected, f'ivy (IRC) saw {irc_seqs}, expected {irc_seqs[0]}..{ann_before[-1]}')
    log(f'IRC saw seqs {irc_seqs[0]}..{irc_seqs[-1]} in the browser\'s order, no gap, no duplicate')
    ivy.stop()

    # The server restarts on the same ports; both tabs resume.
    check_sequence(ben, 'before the restart')
    chat_port, upstream_web_port, irc_port = server.chat_port, server.web_port, server.irc_port
    server.stop()
    log('chat-server stopped')
    for tab in (ann, ben):
        tab.wait(lambda tab=tab: tab.banner() == 'reconnecting', 'the banner to say reconnecting')
    ann.send('sent while the server was down')
    tom.say('tom while the server was down')
    server = processes['server'] = Server(args.server_binary, data_dir, chat_port, upstream_web_port, irc_port)
    log('chat-server started again on the same ports')
    for tab in (ann, ben):
        tab.wait(lambda tab=tab: tab.banner() in ('resumed', 'connected') and tab.state()['connected'],
                 'the banner to say resumed or connected', timeout=40)
    for text in ('sent while the server was down', 'tom while the server was down'):
        for tab in (ann, ben):
            tab.wait_text(text, timeout=30)
    ben.send('after the restart')
    tom.say('tom after the restart')
    for tab in (ann, ben):
        tab.wait_text('after the restart')
        tab.wait_text('tom after the restart')
    wait_until(lambda: tom.saw_text('after the restart'), 'tom to see ben\'s message after the restart')
    for tab in (ann, ben):
        seqs = check_sequence(tab, 'after the restart')
        texts = [text for _, _, text, _ in tab.messages()]
        for text in ('sent while the server was down', 'tom while the server was down'):
            check(texts.count(text) == 1, f'{tab.nick}: {text!r} shown {texts.count(text)} times')
        last_seq = tab.state()['rooms'][ROOM]['lastSeq']
        check(last_seq >= seqs[-1], f'{tab.nick}: chatDebug lastSeq {last_seq} is behind the shown {seqs[-1]}')
    check(check_sequence(ann, 'after the restart')[0] == ann_before[0], 'ann lost older messages on resume')
    log('both tabs resumed without gap or duplicate')

    # Screenshots: desktop and phone width.
    os.makedirs(args.screenshot_dir, exist_ok=True)
    ann.wait(lambda: ann.banner() == 'connected', 'the banner to hide')
    ann.viewport(1280, 800)
    ann.js("document.getElementById('messages').scrollTop = 1e9;")
    ann.driver.save_screenshot(os.path.join(args.screenshot_dir, 'web-desktop.png'))
    ann.viewport(390, 844, mobile=True)
    ann.wait(lambda: ann.driver.find_element(By.ID, 'sidebar-toggle').is_displayed(), 'the sidebar toggle at phone width')
    ann.wait(lambda: not ann.driver.find_element(By.ID, 'join-input').is_displayed(), 'the sidebar to collapse')
    ann.driver.find_element(By.ID, 'sidebar-toggle').click()
    ann.wait(lambda: ann.driver.find_element(By.ID, 'join-input').is_displayed(), 'the sidebar to open')
    ann.driver.find_element(By.ID, 'sidebar-toggle').click()
    ann.wait(lambda: not ann.driver.find_element(By.ID, 'join-input').is_displayed(), 'the sidebar to close')
    ann.js("document.getElementById('messages').scrollTop = 1e9;")
    ann.driver.save_screenshot(os.path.join(args.screenshot_dir, 'web-phone.png'))
    log(f'screenshots in {args.screenshot_dir}')

    for tab in (ann, ben):
        tab.collect_console()
        bad = [entry['message'] for entry in tab.console
               if entry.get('level') == 'SEVERE' and ('Content Security Policy' in entry['message'] or
                                                     'Uncaught' in entry['message'])]
        check(not bad, f'{tab.nick}: errors in the console: {bad}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--server-binary', required=True)
    parser.add_argument('--client-binary', required=True)
    parser.add_argument('--screenshot-dir', required=True)
    parser.add_argument('--web-root', help='serve these files instead of the server\'s own')
    args = parser.parse_args()
    for program in (CHROMIUM, CHROMEDRIVER):
        if not os.access(program, os.X_OK):
            print(f'browser_test: skipped: no {program} (apt install chromium chromium-driver)', file=sys.stderr)
            return SKIP

    processes = {'tmp': tempfile.mkdtemp(prefix='browser-test-')}
    tabs = []
    failed = True
    try:
        run(args, processes, tabs)
        failed = False
    except TestFailure as failure:
        print(f'FAILED: {failure}', file=sys.stderr)
    except Exception:  # noqa: BLE001 - any other error fails the test with its trace
        print('FAILED with an error:', file=sys.stderr)
        traceback.print_exc()
    finally:
        if failed:
            dump_diagnostics(args, processes, tabs)
        for tab in tabs:
            try:
                tab.driver.quit()
            except Exception:  # noqa: BLE001
                pass
        for name in ('ivy', 'tom', 'server'):
            if name in processes:
                processes[name].stop()
        if 'proxy' in processes:
            processes['proxy'].close()
        shutil.rmtree(processes['tmp'], ignore_errors=True)
    if not failed:
        print('browser test passed')
    return 1 if failed else 0


def dump_diagnostics(args, processes, tabs):
    for tab in tabs:
        try:
            os.makedirs(args.screenshot_dir, exist_ok=True)
            tab.driver.save_screenshot(os.path.join(args.screenshot_dir, f'failure-{tab.nick}.png'))
            tab.collect_console()
            print(f'--- {tab.nick} state: {json.dumps(tab.state())}', file=sys.stderr)
            print(f'--- {tab.nick} console:', file=sys.stderr)
            for entry in tab.console[-40:]:
                print(f'  {entry.get("level")} {entry.get("message")}', file=sys.stderr)
        except Exception:  # noqa: BLE001
            pass
    if 'server' in processes:
        print('--- chat-server log (last 40 lines):', file=sys.stderr)
        print('\n'.join(processes['server'].stderr.snapshot()[-40:]), file=sys.stderr)
    if 'tom' in processes:
        print('--- tom stderr:', file=sys.stderr)
        print(processes['tom'].stderr.text()[-4000:], file=sys.stderr)


if __name__ == '__main__':
    sys.exit(main())
