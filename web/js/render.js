// Building message elements. User text only ever becomes text nodes and textContent; links are
// <a> elements built here, for http and https only.

const NICK_COLOURS = 12;
const LINK_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'")\]}>]+$/;

export function element(tag, className = '', text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null) node.textContent = text;
  return node;
}

// One of nick-c0..nick-c11, the same for a nick in every tab and session (FNV-1a of its key).
export function nickColourClass(nick) {
  let hash = 0x811c9dc5;
  for (const c of nick.toLowerCase()) {
    hash ^= c.codePointAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `nick-c${hash % NICK_COLOURS}`;
}

export function formatTime(ms) {
  const date = new Date(ms);
  return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
}

function timeElement(ms) {
  const time = element('time', 'time', formatTime(ms));
  const date = new Date(ms);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  return time;
}

// The URL of a link candidate, or null when it is not a plain http(s) URL.
function safeUrl(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

function link(href, text) {
  const anchor = element('a', 'link', text);
  anchor.href = href;
  anchor.rel = 'noopener noreferrer';
  anchor.target = '_blank';
  return anchor;
}

// Fills `target` with the text, http(s) URLs as links.
export function fillText(target, text) {
  target.replaceChildren();
  let at = 0;
  for (const match of text.matchAll(LINK_PATTERN)) {
    const candidate = match[0].replace(TRAILING_PUNCTUATION, '');
    const href = safeUrl(candidate);
    if (!href) continue;
    if (match.index > at) target.append(document.createTextNode(text.slice(at, match.index)));
    target.append(link(href, candidate));
    at = match.index + candidate.length;
  }
  if (at < text.length) target.append(document.createTextNode(text.slice(at)));
}

export function mentions(text, nick) {
  if (!nick) return false;
  const escaped = nick.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}_])${escaped}($|[^\\p{L}\\p{N}_])`, 'iu').test(text);
}

// A room message or a direct message:
//   { seq?, from, text, timeMs, action, edited, deleted, own, mention, clientMsgId? }
export function messageElement(message) {
  const item = element('div', 'message');
  item.dataset.nick = message.from;
  if (message.seq !== undefined) item.dataset.seq = String(message.seq);
  if (message.clientMsgId) item.dataset.msgId = message.clientMsgId;
  item.classList.toggle('own', Boolean(message.own));
  item.classList.toggle('action', Boolean(message.action));
  item.classList.toggle('mention', Boolean(message.mention) && !message.own);
  item.append(timeElement(message.timeMs));
  const nick = element('span', `nick ${nickColourClass(message.from)}`, message.from);
  item.append(nick, element('span', 'text'));
  setMessageText(item, message.text);
  if (message.edited) markEdited(item);
  if (message.deleted) markDeleted(item);
  return item;
}

export function setMessageText(item, text) {
  item.dataset.rawText = text;
  fillText(item.querySelector('.text'), text);
}

export function markEdited(item) {
  item.classList.add('edited');
}

export function markDeleted(item) {
  item.classList.add('deleted');
  item.classList.remove('edited', 'mention');
  item.querySelector('.text').textContent = 'message deleted';
  delete item.dataset.rawText;
  item.querySelector('.message-actions')?.remove();
}

// Edit and delete buttons of an own room message; the handlers get the message element.
export function addOwnActions(item, { onEdit, onDelete }) {
  if (item.classList.contains('deleted') || item.querySelector('.message-actions')) return;
  const actions = element('span', 'message-actions');
  const edit = element('button', 'edit-button', 'Edit');
  edit.type = 'button';
  edit.setAttribute('aria-label', 'Edit message');
  edit.addEventListener('click', () => onEdit(item));
  const remove = element('button', 'delete-button', 'Delete');
  remove.type = 'button';
  remove.setAttribute('aria-label', 'Delete message');
  remove.addEventListener('click', () => onDelete(item));
  actions.append(edit, remove);
  item.append(actions);
}

// A line from the client itself: errors, joins and leaves, command results.
export function noticeElement(text, kind = 'info') {
  const notice = element('div', `notice notice-${kind}`);
  notice.append(element('span', 'notice-text', text));
  return notice;
}

export function receiptElement() {
  const receipt = element('span', 'receipt', 'sending…');
  receipt.dataset.state = 'sending';
  return receipt;
}

const RECEIPT_TEXT = { sending: 'sending…', sent: 'sent', delivered: 'delivered', read: 'read', failed: 'not sent' };
const RECEIPT_ORDER = ['sending', 'sent', 'delivered', 'read'];

// Receipts only move forward (a DELIVERED after a READ changes nothing); 'failed' is final.
export function setReceipt(item, state, detail = '') {
  const receipt = item.querySelector('.receipt');
  if (!receipt) return;
  const current = receipt.dataset.state;
  if (current === 'failed') return;
  if (state !== 'failed' && RECEIPT_ORDER.indexOf(state) <= RECEIPT_ORDER.indexOf(current)) return;
  receipt.dataset.state = state;
  receipt.textContent = detail ? `${RECEIPT_TEXT[state]}: ${detail}` : RECEIPT_TEXT[state];
}
