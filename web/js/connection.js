// The chat.v1.json protocol over a WebSocket: login, requests and their replies, reconnecting with
// resume, no gap and no duplicate per room, and sends that survive a lost connection. The same
// rules as client/library (client.cpp, client_events.cpp, client_connection.cpp); no DOM here.
import { RoomTracker, ReconnectBackoff, TokenBucket } from './tracker.js';

const PROTOCOL_VERSION = 1;
const CLIENT_NAME = 'chat-web/0.1';
const REQUEST_TIMEOUT_MS = 10000;
const SEND_TIMEOUT_MS = 15000;
const CONNECT_TIMEOUT_MS = 10000;
const HEARTBEAT_MS = 25000;
const SEND_RETRIES = 5;
// Failures that another attempt cannot fix.
const FINAL_ERRORS = new Set(['INVALID_NAME', 'AUTH_FAILED', 'FORBIDDEN', 'BAD_REQUEST', 'UNSUPPORTED']);
const REPLY_CASES = ['welcome', 'ok', 'error', 'joinReply', 'ack', 'roomList', 'memberList',
  'historyReply', 'pong'];
const EVENT_CASES = ['roomMessage', 'directMessage', 'directReceipt', 'messageEdited',
  'messageDeleted', 'memberJoined', 'memberLeft', 'nickChanged', 'topicChanged', 'typing', 'gap',
  'disconnect', 'ping'];
const PAYLOAD_CASES = [...REPLY_CASES, ...EVENT_CASES];

// The form under which two names count as the same (ASCII case folded, as the server's name_key).
export function nameKey(name) {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export class ChatError extends Error {
  constructor(code, message, retryAfterMs = 0) {
    super(message || code);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

function errorOf(error) {
  return new ChatError(error.code || 'CODE_UNSPECIFIED', error.message || '', error.retryAfterMs || 0);
}

// Which oneof member a ServerFrame carries, and its value.
export function payloadOf(frame) {
  for (const name of PAYLOAD_CASES) if (name in frame) return [name, frame[name]];
  return [null, null];
}

// Why a text cannot be sent, or null; the same rules as common/names.cpp check_text.
export function textProblem(text, maxBytes) {
  if (text.length === 0) return 'is empty';
  if (new TextEncoder().encode(text).length > maxBytes) return 'is too long';
  if (/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/.test(text)) return 'contains a control character';
  return null;
}

function randomClientMsgIdBase() {
  const words = crypto.getRandomValues(new Uint32Array(2));
  // 52 random bits, odd, far from 2^64 so that counting up never wraps.
  return ((BigInt(words[0] & 0xfffff) << 32n) | BigInt(words[1]) | 1n);
}

function webSocketUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}

export class ChatConnection {
  constructor() {
    this.listeners = new Map();
    this.state = 'closed';  // connecting | connected | reconnecting | closed
    this.socket = null;
    this.nick = '';
    this.password = '';
    this.welcome = null;
    this.rooms = new Map();  // nameKey -> { name, tracker, ready, resumeUntil, resumed }
    this.requests = new Map();  // requestId -> { resolve, reject, timer, onReply }
    this.outgoing = new Map();  // clientMsgId -> pending send, in the order sent
    this.sendRequests = new Map();  // requestId -> clientMsgId
    this.nextRequestId = 1;
    this.nextClientMsgId = randomClientMsgIdBase();
    this.backoff = new ReconnectBackoff();
    this.bucket = new TokenBucket(0, 1);
    this.serverRetryAfterMs = 0;
    this.pauseSendsUntil = 0;
    this.reconnectTimer = null;
    this.pumpTimer = null;
    this.heartbeatTimer = null;
    this.lastFrameAt = 0;
    this.connectedWaiters = [];
    this.closedByUser = false;
    this.lastLoss = '';
    this.resumeMissed = 0;
  }

  // ---- events -------------------------------------------------------------------------------

  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, detail) {
    for (const listener of this.listeners.get(type) ?? []) {
      try {
        listener(detail);
      } catch (error) {
        console.error(`chat: a ${type} listener failed`, error);
      }
    }
  }

  setState(state, detail = {}) {
    this.state = state;
    this.emit('state', { state, ...detail });
    if (state === 'connected' || state === 'closed') {
      const waiters = this.connectedWaiters.splice(0);
      for (const wake of waiters) wake();
    }
  }

  whenConnected() {
    if (this.state === 'connected' || this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  get limits() {
    return this.welcome?.limits ?? {};
  }

  // ---- login and connection -----------------------------------------------------------------

  // Hello (and Register after a guest Hello); rejects with a ChatError the login screen shows.
  async login({ nick, password = '', register = false }) {
    this.closedByUser = false;
    this.nick = nick;
    this.password = register ? '' : password;
    this.setState('connecting');
    let welcome;
    try {
      welcome = await this.openConnection(false);
    } catch (error) {
      this.setState('closed');
      throw error;
    }
    if (register) {
      try {
        await this.request({ register: { password } });
        this.password = password;  // every later Hello needs it
      } catch (error) {
        this.close();
        throw error;
      }
    }
    this.setState('connected');
    this.startHeartbeat();
    return welcome;
  }

  get registered() {
    return this.password !== '';
  }

  close() {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, 'bye');
    this.onDisconnected('closed');
    this.failAllSends(new ChatError('UNAVAILABLE', 'the connection is closed'));
    this.setState('closed');
  }

  // Opens a socket and says Hello; resolves with Welcome. After Welcome the socket's frames go to
  // dispatch() and its end to onConnectionLost().
  openConnection(resume) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(webSocketUrl(), 'chat.v1.json');
      this.socket = socket;
      const helloId = this.takeRequestId();
      let welcomed = false;
      let settled = false;
      const fail = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        socket.onclose = null;
        if (this.socket === socket) this.socket = null;
        socket.close();
        reject(error);
      };
      const deadline = setTimeout(() => fail(new ChatError('UNAVAILABLE', 'no answer from the server in time')),
        CONNECT_TIMEOUT_MS);
      socket.onopen = () => {
        socket.send(JSON.stringify({ requestId: helloId, hello: this.helloFor(resume) }));
      };
      socket.onmessage = (event) => {
        const frame = parseFrame(event.data);
        if (!frame) return;
        this.lastFrameAt = performance.now();
        if (welcomed) {
          this.dispatch(frame);
          return;
        }
        if (frame.disconnect) {
          this.noteDisconnect(frame.disconnect);
          return;
        }
        if ((frame.requestId ?? '0') !== helloId) return;
        if (frame.error) return fail(errorOf(frame.error));
        if (!frame.welcome) return fail(new ChatError('UNAVAILABLE', 'the server answered Hello without Welcome'));
        welcomed = true;
        settled = true;
        clearTimeout(deadline);
        this.onWelcome(frame.welcome);
        resolve(frame.welcome);
      };
      socket.onclose = (event) => {
        if (!welcomed) {
          fail(new ChatError('UNAVAILABLE', this.lastLoss || describeClose(event, 'cannot reach the server')));
          return;
        }
        if (this.socket !== socket) return;
        this.socket = null;
        this.onConnectionLost(this.lastLoss || describeClose(event, 'the connection was lost'));
      };
    });
  }

  helloFor(resume) {
    const hello = { protocolVersion: PROTOCOL_VERSION, nick: this.nick, clientName: CLIENT_NAME };
    if (this.password) hello.password = this.password;
    this.lastLoss = '';
    this.resumeMissed = 0;
    if (resume && this.rooms.size > 0) {
      hello.resume = [];
      for (const room of this.rooms.values()) {
        hello.resume.push({ room: room.name, lastSeenSeq: String(room.tracker.lastSeen()) });
        room.ready = false;
        room.resumed = false;
        room.resumeUntil = Infinity;  // until its JoinReply says how far the replay goes
      }
    }
    return hello;
  }

  onWelcome(welcome) {
    this.welcome = welcome;
    this.nick = welcome.nick || this.nick;
    const limits = welcome.limits ?? {};
    // Stay under the server's rate limit, which counts requests other than sends too.
    this.bucket = new TokenBucket((limits.messagesPerSecond ?? 0) * 0.9,
      Math.max(1, Math.floor((limits.messageBurst ?? 0) / 2)));
    this.state = 'connected';  // requests may go out; the 'state' event follows from the caller
  }

  noteDisconnect(disconnect) {
    if (disconnect.retryAfterMs) this.serverRetryAfterMs = disconnect.retryAfterMs;
    const reason = disconnect.reason || 'REASON_UNSPECIFIED';
    this.lastLoss = disconnect.message || `disconnected by the server (${reason})`;
    this.emit('disconnect', { reason, message: disconnect.message || '' });
  }

  onConnectionLost(reason) {
    this.onDisconnected(reason);
    if (this.closedByUser) return;
    this.scheduleReconnect(reason);
  }

  // Replies that will not come fail; sends in flight wait to be sent again.
  onDisconnected(reason) {
    const lost = new ChatError('UNAVAILABLE', `connection lost: ${reason}`);
    for (const [id, waiter] of this.requests) {
      clearTimeout(waiter.timer);
      waiter.reject(lost);
      this.requests.delete(id);
    }
    this.sendRequests.clear();
    for (const pending of this.outgoing.values()) {
      clearTimeout(pending.timer);
      pending.requestId = null;
    }
    clearTimeout(this.pumpTimer);
  }

  scheduleReconnect(reason) {
    let delay = this.backoff.nextMs();
    if (this.serverRetryAfterMs) delay = Math.max(delay, this.serverRetryAfterMs);
    this.serverRetryAfterMs = 0;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.attemptReconnect(), delay);
    this.setState('reconnecting', { retryAt: Date.now() + delay, reason });
  }

  retryNow() {
    if (this.state !== 'reconnecting') return;
    clearTimeout(this.reconnectTimer);
    this.attemptReconnect();
  }

  async attemptReconnect() {
    if (this.closedByUser) return;
    this.setState('connecting', { reconnect: true });
    try {
      await this.openConnection(true);
    } catch (error) {
      if (this.closedByUser) return;
      if (FINAL_ERRORS.has(error.code)) {
        this.closedByUser = true;
        this.failAllSends(error);
        this.setState('closed', { reason: error.message, code: error.code });
        return;
      }
      if (error.retryAfterMs) this.serverRetryAfterMs = error.retryAfterMs;
      this.scheduleReconnect(error.message);
      return;
    }
    this.backoff.reset();
    this.setState('connected', { reconnect: true });
    this.pumpSends();
    this.awaitResume();
  }

  // Requests sent behind Hello are handled after every resumed room is answered: a Ping's Pong
  // says all JoinReplies (and their replays) are in, and which rooms were not rejoined.
  async awaitResume() {
    try {
      await this.request({ ping: { nonce: String(Date.now()) } });
    } catch {
      return;  // lost again; the next reconnect resumes
    }
    const lost = [];
    for (const [key, room] of this.rooms) {
      if (room.resumed) continue;
      lost.push(room.name);
      this.rooms.delete(key);
    }
    if (lost.length) this.pumpSends();  // fails the sends of those rooms
    this.emit('resumed', { missed: this.resumeMissed, lost });
  }

  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
  }

  // A connection that went silent may be dead without the browser noticing: ask, and drop it when
  // no answer comes (the reconnect resumes).
  async heartbeat() {
    if (this.state !== 'connected' || performance.now() - this.lastFrameAt < HEARTBEAT_MS) return;
    const socket = this.socket;
    try {
      await this.request({ ping: { nonce: String(Date.now()) } });
    } catch (error) {
      if (socket && socket === this.socket && error.timedOut) socket.close();
    }
  }

  // ---- frames ---------------------------------------------------------------------------------

  takeRequestId() {
    return String(this.nextRequestId++);
  }

  write(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  // One request; resolves with the reply frame, rejects with a ChatError. onReply runs
  // synchronously with the reply, before any later frame is handled.
  request(body, onReply = null) {
    if (this.state !== 'connected' || !this.socket) {
      return Promise.reject(new ChatError('UNAVAILABLE', 'not connected'));
    }
    const requestId = this.takeRequestId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.requests.delete(requestId);
        const error = new ChatError('UNAVAILABLE', 'no reply in time');
        error.timedOut = true;
        reject(error);
      }, REQUEST_TIMEOUT_MS);
      this.requests.set(requestId, { resolve, reject, timer, onReply });
      this.write({ requestId, ...body });
    });
  }

  dispatch(frame) {
    const requestId = frame.requestId ?? '0';
    if (requestId !== '0') {
      this.onReply(requestId, frame);
      return;
    }
    const [type, data] = payloadOf(frame);
    switch (type) {
      case 'roomMessage':
        this.onRoomMessage(data);
        return;
      case 'gap':
        this.onServerGap(data);
        return;
      case 'joinReply':
        this.onResumeReply(data);
        return;
      case 'ping':  // any request counts as activity
        this.write({ ping: { nonce: data.nonce ?? '0' } });
        return;
      case 'disconnect':
        this.noteDisconnect(data);
        return;
      case 'error':  // a resumed room that could not be rejoined; awaitResume() notices which
      case 'pong':
      case 'ok':
        return;
      case null:
        return;
      default:
        this.emit(type, data);
    }
  }

  onReply(requestId, frame) {
    const clientMsgId = this.sendRequests.get(requestId);
    if (clientMsgId !== undefined) {
      this.sendRequests.delete(requestId);
      this.onSendReply(clientMsgId, frame);
      return;
    }
    const waiter = this.requests.get(requestId);
    if (!waiter) return;  // timed out already
    this.requests.delete(requestId);
    clearTimeout(waiter.timer);
    if (frame.error) {
      waiter.reject(errorOf(frame.error));
      return;
    }
    if (waiter.onReply) waiter.onReply(frame);
    waiter.resolve(frame);
  }

  onRoomMessage(message) {
    const room = this.rooms.get(nameKey(message.room ?? ''));
    if (room) {
      const verdict = room.tracker.onMessage(Number(message.seq ?? 0));
      if (!verdict.deliver) return;  // replayed twice
      if (verdict.missed) this.fillGap(room.name, verdict.missed);
    }
    this.completeReplayedSend(message);
    this.emit('messages', { room: message.room, messages: [message], live: true });
    if (room) this.checkReady(room);
  }

  // A replayed copy of a message sent before the connection was lost: it is stored, so its send
  // is done (only while it waits to be sent again; otherwise its Ack is on the way).
  completeReplayedSend(message) {
    const id = message.clientMsgId;
    if (!id || nameKey(message.from ?? '') !== nameKey(this.nick)) return;
    const pending = this.outgoing.get(id);
    if (!pending || pending.requestId !== null || pending.kind !== 'room') return;
    this.finishSend(id, null, { room: message.room, seq: message.seq, clientMsgId: id, duplicate: true });
  }

  onServerGap(gap) {
    const room = this.rooms.get(nameKey(gap.room ?? ''));
    if (!room) return;
    const from = Number(gap.fromSeq ?? 0);
    const to = Number(gap.toSeq ?? 0);
    room.tracker.onGap(to);
    if (from <= to) this.fillGap(room.name, { from, to });
    this.checkReady(room);
  }

  onResumeReply(reply) {
    const room = this.rooms.get(nameKey(reply.room ?? ''));
    if (!room) return;
    const lastSeq = Number(reply.lastSeq ?? 0);
    this.resumeMissed += room.tracker.missedBefore(lastSeq);
    room.resumeUntil = lastSeq;
    room.resumed = true;
    this.emit('joined', { reply, resumed: true });
    this.checkReady(room);
  }

  checkReady(room) {
    if (room.ready || room.tracker.lastSeen() < room.resumeUntil) return;
    room.ready = true;
    this.pumpSends();
  }

  // Pages a hole in with History (after a reconnect too) and hands over what the server still has.
  async fillGap(roomName, range) {
    const page = Math.max(1, this.limits.maxHistory ?? 100);
    let next = range.from;
    let failures = 0;
    while (next <= range.to && !this.closedByUser && this.rooms.has(nameKey(roomName))) {
      if (this.state !== 'connected') {
        await this.whenConnected();
        continue;
      }
      let reply;
      try {
        reply = await this.history(roomName, { afterSeq: next - 1 }, Math.min(page, range.to - next + 1));
      } catch (error) {
        if (error.code === 'UNAVAILABLE' && ++failures < SEND_RETRIES) continue;
        break;
      }
      const before = next;
      if (reply.gap && Number(reply.gap.toSeq ?? 0) >= next) next = Number(reply.gap.toSeq) + 1;
      const found = [];
      for (const message of reply.messages ?? []) {
        const seq = Number(message.seq ?? 0);
        if (seq < next || seq > range.to) continue;
        found.push(message);
        next = seq + 1;
      }
      if (found.length) this.emit('messages', { room: roomName, messages: found, live: false });
      if (next === before || !reply.hasMore) break;
    }
  }

  // ---- sends ----------------------------------------------------------------------------------

  takeClientMsgId() {
    const id = this.nextClientMsgId;
    this.nextClientMsgId += 1n;
    return id.toString();
  }

  // Queues a room message; it is sent (again after a reconnect, with the same clientMsgId) until
  // the server acknowledges it. Returns { clientMsgId, done: Promise<Ack> }.
  sendMessage(room, text, action = false) {
    const joined = this.rooms.get(nameKey(room));
    if (!joined) return rejectedSend(new ChatError('NOT_IN_ROOM', `not in ${room}`));
    return this.queueSend({ kind: 'room', room: joined.name, text, action });
  }

  // Queues a direct message; done resolves once the recipient was found.
  sendDirect(to, text) {
    return this.queueSend({ kind: 'direct', to, text });
  }

  queueSend(pending) {
    const problem = textProblem(pending.text, this.limits.maxTextBytes || 4096);
    if (problem) return rejectedSend(new ChatError(problem === 'is too long' ? 'TEXT_TOO_LONG' : 'INVALID_TEXT',
      `the text ${problem}`));
    if (this.closedByUser) return rejectedSend(new ChatError('UNAVAILABLE', 'the connection is closed'));
    const clientMsgId = this.takeClientMsgId();
    Object.assign(pending, { requestId: null, timer: null, failures: 0 });
    const done = new Promise((resolve, reject) => Object.assign(pending, { resolve, reject }));
    this.outgoing.set(clientMsgId, pending);
    this.pumpSends();
    return { clientMsgId, done };
  }

  pumpSends() {
    clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    if (this.state !== 'connected') return;
    for (const [clientMsgId, pending] of this.outgoing) {
      if (pending.requestId !== null) continue;  // in flight
      if (pending.kind === 'room') {
        const room = this.rooms.get(nameKey(pending.room));
        if (!room) {
          this.finishSend(clientMsgId, new ChatError('NOT_IN_ROOM', `left ${pending.room} before sending`));
          continue;
        }
        if (!room.ready) continue;
      }
      const wait = Math.max(this.bucket.waitMs(), this.pauseSendsUntil - performance.now());
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => this.pumpSends(), wait);
        return;
      }
      this.bucket.take();
      this.transmit(clientMsgId, pending);
    }
  }

  transmit(clientMsgId, pending) {
    const requestId = this.takeRequestId();
    const body = pending.kind === 'room'
      ? { send: { room: pending.room, text: pending.text, clientMsgId, ...(pending.action ? { action: true } : {}) } }
      : { sendDirect: { to: pending.to, text: pending.text, clientMsgId } };
    if (!this.write({ requestId, ...body })) return;
    pending.requestId = requestId;
    this.sendRequests.set(requestId, clientMsgId);
    // No answer on a live connection: send again (the server de-duplicates by clientMsgId).
    pending.timer = setTimeout(() => {
      this.sendRequests.delete(requestId);
      pending.requestId = null;
      this.pumpSends();
    }, SEND_TIMEOUT_MS);
  }

  onSendReply(clientMsgId, frame) {
    const pending = this.outgoing.get(clientMsgId);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.requestId = null;
    const error = frame.error;
    const retryable = error && (error.code === 'RATE_LIMITED' ||
      ((error.code === 'UNAVAILABLE' || error.code === 'INTERNAL') && ++pending.failures < SEND_RETRIES));
    if (retryable) {
      // Again, after the pause the server asked for.
      const pause = error.code === 'RATE_LIMITED' ? Math.max(error.retryAfterMs || 0, 50) : 1000;
      this.pauseSendsUntil = performance.now() + pause;
      this.pumpSends();
      return;
    }
    if (error) this.finishSend(clientMsgId, errorOf(error));
    else this.finishSend(clientMsgId, null, frame.ack ?? {});
  }

  finishSend(clientMsgId, error, result) {
    const pending = this.outgoing.get(clientMsgId);
    if (!pending) return;
    this.outgoing.delete(clientMsgId);
    clearTimeout(pending.timer);
    if (pending.requestId !== null) this.sendRequests.delete(pending.requestId);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  failAllSends(error) {
    for (const clientMsgId of [...this.outgoing.keys()]) this.finishSend(clientMsgId, error);
  }

  // ---- requests -------------------------------------------------------------------------------

  // Joins (or switches to) a room; the room is tracked before its join history arrives.
  async join(room, history = 50) {
    const frame = await this.request({ join: { room, history } }, (reply) => {
      const joined = reply.joinReply ?? {};
      const key = nameKey(joined.room ?? room);
      if (!this.rooms.has(key)) {
        this.rooms.set(key, {
          name: joined.room ?? room, tracker: new RoomTracker(Number(joined.lastSeq ?? 0)),
          ready: true, resumeUntil: 0, resumed: true,
        });
      }
      this.emit('joined', { reply: joined, resumed: false });
    });
    return frame.joinReply ?? {};
  }

  async leave(room) {
    await this.request({ leave: { room } });
    this.rooms.delete(nameKey(room));
    this.pumpSends();  // fails what still waited for that room
  }

  async history(room, position, limit) {
    const query = { room, limit };
    if ('beforeSeq' in position) query.beforeSeq = String(position.beforeSeq);
    else if ('afterSeq' in position) query.afterSeq = String(position.afterSeq);
    else query.latest = true;
    const frame = await this.request({ history: query });
    return frame.historyReply ?? {};
  }

  async who(room) {
    const frame = await this.request({ who: { room } });
    return frame.memberList?.nicks ?? [];
  }

  async setTopic(room, topic) {
    await this.request({ setTopic: { room, topic } });
  }

  async setNick(nick) {
    await this.request({ setNick: { nick } });
    this.nick = nick;  // a reconnect says Hello with the new nick
    this.password = '';  // a new nick leaves the account of the old one
  }

  async edit(room, seq, text) {
    const problem = textProblem(text, this.limits.maxTextBytes || 4096);
    if (problem) throw new ChatError('INVALID_TEXT', `the text ${problem}`);
    await this.request({ edit: { room, seq: String(seq), text } });
  }

  async remove(room, seq) {
    await this.request({ delete: { room, seq: String(seq) } });
  }

  async markRead(room, seq) {
    await this.request({ markRead: { room, seq: String(seq) } });
  }

  async readReceipt(to, clientMsgId) {
    await this.request({ directReceipt: { to, clientMsgId } });
  }

  // Not answered, not even when refused.
  typing(room) {
    if (this.state === 'connected') this.write({ typing: { room } });
  }

  isJoined(room) {
    return this.rooms.has(nameKey(room));
  }

  lastSeen(room) {
    return this.rooms.get(nameKey(room))?.tracker.lastSeen() ?? 0;
  }
}

function parseFrame(data) {
  if (typeof data !== 'string') return null;
  try {
    const frame = JSON.parse(data);
    return frame && typeof frame === 'object' ? frame : null;
  } catch {
    console.warn('chat: a frame that is not JSON', data.slice(0, 200));
    return null;
  }
}

function describeClose(event, fallback) {
  return event.reason ? `${fallback}: ${event.reason}` : fallback;
}

function rejectedSend(error) {
  const done = Promise.reject(error);
  done.catch(() => {});
  return { clientMsgId: null, done };
}
