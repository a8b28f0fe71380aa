// Sequence bookkeeping for one joined room and the reconnect backoff: pure logic, the same rules
// as client/library/room_tracker.cpp and reconnect_backoff.cpp.

export class RoomTracker {
  // lastSeqAtJoin: JoinReply.lastSeq; the history sent with the join has sequences up to it.
  constructor(lastSeqAtJoin) {
    this.joinedAt = lastSeqAtJoin;
    this.seen = null;  // the last sequence received, null before the first
  }

  // { deliver: false } for a message seen already; missed: a hole right before this one.
  onMessage(seq) {
    if (this.seen !== null && seq <= this.seen) return { deliver: false, missed: null };
    // Join history starts wherever the server chose; after it, nothing may be skipped.
    const joinHistory = this.seen === null && seq <= this.joinedAt;
    const last = this.lastSeen();
    const missed = !joinHistory && seq > last + 1 ? { from: last + 1, to: seq - 1 } : null;
    this.seen = seq;
    return { deliver: true, missed };
  }

  // The server said the range is lost or skipped: do not report it again.
  onGap(toSeq) {
    if (toSeq > this.lastSeen()) this.seen = toSeq;
  }

  // The sequence to resume after (Hello.resume).
  lastSeen() {
    return this.seen ?? this.joinedAt;
  }

  // How many messages a room at lastSeq holds that this client has not seen.
  missedBefore(lastSeq) {
    return Math.max(0, lastSeq - this.lastSeen());
  }
}

export class ReconnectBackoff {
  constructor({ initialMs = 250, maxMs = 15000, multiplier = 2, jitter = 0.25 } = {}) {
    Object.assign(this, { initialMs, maxMs, multiplier, jitter });
    this.attempts = 0;
  }

  // The delay before the next attempt; each call backs off further, up to the maximum.
  nextMs() {
    const base = this.initialMs * this.multiplier ** Math.min(this.attempts, 60);
    const capped = Math.min(base, this.maxMs);
    this.attempts += 1;
    const factor = 1 - this.jitter + Math.random() * 2 * this.jitter;
    return Math.round(Math.min(Math.max(capped * factor, 0), this.maxMs));
  }

  reset() {
    this.attempts = 0;
  }
}

// Paces requests under the server's rate limit; a rate of 0 means unlimited.
export class TokenBucket {
  constructor(ratePerSecond, burst) {
    this.rate = ratePerSecond;
    this.burst = burst;
    this.tokens = burst;
    this.last = performance.now();
  }

  waitMs() {
    if (this.rate <= 0) return 0;
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  take() {
    if (this.rate > 0) this.tokens -= 1;
  }

  refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
