// The browser chat client: login, rooms and direct messages, the message log, the composer and
// its commands. The protocol lives in js/connection.js, message elements in js/render.js.
import { ChatConnection, ChatError, nameKey } from './js/connection.js';
import {
  addOwnActions, element, markDeleted, markEdited, mentions, messageElement, nickColourClass,
  noticeElement, receiptElement, setMessageText, setReceipt,
} from './js/render.js';

const DEFAULT_ROOM = 'lobby';
const HISTORY_ON_JOIN = 50;
const HISTORY_PAGE = 50;
const TYPING_SEND_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const RESUMED_SHOWN_MS = 4000;
const MARK_READ_DELAY_MS = 500;
const AT_BOTTOM_SLACK_PX = 40;
const LOAD_OLDER_AT_PX = 80;
const JOIN_HISTORY_WAIT_MS = 1000;
const JOIN_ATTEMPTS = 3;
const MIN_PASSWORD_BYTES = 6;
const MAX_PASSWORD_BYTES = 1024;

const byId = (id) => document.getElementById(id);
const ui = {
  loginView: byId('login-view'), loginForm: byId('login-form'), loginNick: byId('login-nick'),
  loginPassword: byId('login-password'), loginButton: byId('login-button'),
  registerButton: byId('register-button'), loginError: byId('login-error'),
  loginStatus: byId('login-status'), chatView: byId('chat-view'), banner: byId('banner'),
  bannerText: byId('banner-text'), retryButton: byId('retry-button'),
  sidebarToggle: byId('sidebar-toggle'), toggleUnread: byId('toggle-unread'),
  roomTitle: byId('room-title'), topic: byId('topic'), ownNick: byId('own-nick'),
  joinForm: byId('join-form'), joinInput: byId('join-input'), roomList: byId('room-list'),
  notifyButton: byId('notify-button'), logoutButton: byId('logout-button'),
  members: byId('members'), memberCount: byId('member-count'), messages: byId('messages'),
  typing: byId('typing'), composerForm: byId('composer-form'), composer: byId('composer'),
};

const client = new ChatConnection();
const conversations = new Map();  // room: nameKey(name); direct: '@' + nameKey(nick)
const sentDirect = new Map();  // clientMsgId -> element of an own direct message, for receipts
const systemLog = element('div', 'room-view system-log');  // notices before any room is open
let current = null;
let readMarkers = new Map();  // nameKey(room) -> seq, from Welcome
let lastTypingSentAt = 0;
let bannerTimer = null;

// ---- conversations ----------------------------------------------------------------------------

class Conversation {
  constructor(kind, name) {
    this.kind = kind;  // 'room' | 'direct'
    this.name = name;  // the room's name or the other nick
    this.root = element('div', 'room-view');
    this.historyStatus = element('div', 'history-status');
    this.log = element('div', 'room-log');
    this.pendingList = element('div', 'pending-list');
    this.root.append(this.historyStatus, this.log, this.pendingList);
    this.seqs = [];  // shown sequences, ascending
    this.bySeq = new Map();
    this.pending = new Map();  // clientMsgId -> placeholder of an unacknowledged own message
    this.lastSeq = 0;
    this.readSeq = 0;
    this.directUnread = 0;
    this.topic = '';
    this.members = new Map();  // nameKey -> nick
    this.typing = new Map();  // nameKey -> { nick, timer }
    this.noOlder = false;
    this.loadingOlder = false;
    this.scrollTop = 0;
    this.atBottom = true;
    this.markReadTimer = null;
    this.unreceipted = [];  // incoming direct messages to send a read receipt for
    this.draft = '';
    this.joinHistoryDue = false;  // a fresh join's recent messages are on their way
    this.seenDirect = new Set();
    this.listItem = null;
  }

  get id() {
    return this.kind === 'room' ? this.name : `@${this.name}`;
  }

  get key() {
    return conversationKey(this.kind, this.name);
  }

  get unread() {
    return this.kind === 'room' ? Math.max(0, this.lastSeq - this.readSeq) : this.directUnread;
  }

  oldestSeq() {
    return this.seqs.length ? this.seqs[0] : null;
  }
}

function conversationKey(kind, name) {
  return kind === 'room' ? nameKey(name) : `@${nameKey(name)}`;
}

function roomConversation(name) {
  return conversations.get(conversationKey('room', name)) ?? null;
}

function createConversation(kind, name) {
  const conversation = new Conversation(kind, name);
  conversations.set(conversation.key, conversation);
  conversation.listItem = roomListItem(conversation);
  const firstDirect = [...ui.roomList.children].find((item) => item.dataset.kind === 'direct');
  if (kind === 'room' && firstDirect) ui.roomList.insertBefore(conversation.listItem, firstDirect);
  else ui.roomList.append(conversation.listItem);
  return conversation;
}

function removeConversation(conversation) {
  conversations.delete(conversation.key);
  conversation.listItem.remove();
  for (const { timer } of conversation.typing.values()) clearTimeout(timer);
  if (current === conversation) {
    current = null;
    const next = [...conversations.values()].find((c) => c.kind === 'room') ?? conversations.values().next().value;
    if (next) switchTo(next);
    else showNothing();
  }
  saveRooms();
  updateToggleUnread();
}

function roomListItem(conversation) {
  const item = element('li', 'room-item');
  item.dataset.room = conversation.id;
  item.dataset.kind = conversation.kind;
  const open = element('button', 'room-button');
  open.type = 'button';
  const label = conversation.kind === 'room' ? conversation.name : `@ ${conversation.name}`;
  open.append(element('span', 'room-name', label), element('span', 'unread'));
  open.querySelector('.unread').hidden = true;
  open.addEventListener('click', () => {
    switchTo(conversation);
    ui.composer.focus();
  });
  const close = element('button', 'leave-button', '×');
  close.type = 'button';
  close.title = conversation.kind === 'room' ? `Leave ${conversation.name}` : `Close the conversation with ${conversation.name}`;
  close.setAttribute('aria-label', close.title);
  close.addEventListener('click', () => leaveConversation(conversation));
  item.append(open, close);
  return item;
}

function updateUnread(conversation) {
  const count = conversation.unread;
  const badge = conversation.listItem.querySelector('.unread');
  badge.textContent = count > 0 ? String(count) : '';
  badge.hidden = count === 0;
  const label = conversation.listItem.querySelector('.room-name').textContent;
  conversation.listItem.querySelector('.room-button')
    .setAttribute('aria-label', count > 0 ? `${label}, ${count} unread` : label);
  conversation.listItem.classList.toggle('has-unread', count > 0);
  updateToggleUnread();
}

function updateToggleUnread() {
  let total = 0;
  for (const conversation of conversations.values()) if (conversation !== current) total += conversation.unread;
  ui.toggleUnread.textContent = total > 0 ? String(total) : '';
  ui.toggleUnread.hidden = total === 0;
  document.title = total > 0 ? `(${total}) Chat` : 'Chat';
}

function switchTo(conversation) {
  if (current && current !== conversation) {
    rememberScroll(current);
    current.draft = ui.composer.value;
    ui.composer.value = conversation.draft;
  }
  current = conversation;
  ui.messages.setAttribute('aria-busy', 'true');
  ui.messages.replaceChildren(conversation.root);
  restoreScroll(conversation);
  ui.messages.setAttribute('aria-busy', 'false');
  for (const item of ui.roomList.children) {
    const here = item === conversation.listItem;
    item.classList.toggle('current', here);
    item.querySelector('.room-button').setAttribute('aria-current', here ? 'true' : 'false');
  }
  ui.roomTitle.textContent = conversation.kind === 'room' ? conversation.name : `@ ${conversation.name}`;
  ui.composer.placeholder = conversation.kind === 'room' ? `Message ${conversation.name}` : `Message ${conversation.name} privately`;
  renderTopic();
  renderMembers();
  renderTyping();
  closeDrawer();
  saveRooms();
  maybeMarkRead();
  updateToggleUnread();
  fillViewWithHistory(conversation);
}

function showNothing() {
  ui.messages.replaceChildren(systemLog);
  ui.roomTitle.textContent = 'No room';
  ui.topic.textContent = '';
  ui.topic.dataset.kind = 'none';
  ui.members.replaceChildren();
  ui.memberCount.textContent = '';
  ui.typing.textContent = '';
}

function leaveConversation(conversation) {
  if (conversation.kind === 'direct') {
    removeConversation(conversation);
    return;
  }
  client.leave(conversation.name).then(
    () => {
      removeConversation(conversation);
      notice(`You left ${conversation.name}.`);
    },
    (error) => notice(`Cannot leave ${conversation.name}: ${describeError(error)}`, 'error', conversation),
  );
}

function storageKey() {
  return `chat.rooms.${nameKey(client.nick)}`;
}

function saveRooms() {
  const rooms = [...conversations.values()].filter((c) => c.kind === 'room').map((c) => c.name);
  const state = { rooms, current: current?.kind === 'room' ? current.name : null };
  try {
    localStorage.setItem(storageKey(), JSON.stringify(state));
  } catch {
    // storage refused (private mode): the next visit joins the default room
  }
}

function savedRooms() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) ?? 'null');
    if (saved && Array.isArray(saved.rooms) && saved.rooms.length) return saved;
  } catch {
    // unreadable: start over
  }
  return { rooms: [DEFAULT_ROOM], current: DEFAULT_ROOM };
}

// ---- scrolling --------------------------------------------------------------------------------

function isAtBottom() {
  const box = ui.messages;
  return box.scrollHeight - box.scrollTop - box.clientHeight <= AT_BOTTOM_SLACK_PX;
}

function scrollToBottom() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function rememberScroll(conversation) {
  conversation.atBottom = isAtBottom();
  conversation.scrollTop = ui.messages.scrollTop;
}

function restoreScroll(conversation) {
  if (conversation.atBottom) scrollToBottom();
  else ui.messages.scrollTop = conversation.scrollTop;
}

// Runs a change to a log; the open one stays at the bottom when it was there.
function keepingScroll(conversation, change) {
  if (conversation !== current) {
    change();
    return;
  }
  const wasAtBottom = isAtBottom();
  change();
  if (wasAtBottom) scrollToBottom();
}

function onMessagesScroll() {
  if (!current) return;
  current.atBottom = isAtBottom();
  current.scrollTop = ui.messages.scrollTop;
  if (ui.messages.scrollTop <= LOAD_OLDER_AT_PX) loadOlder(current);
  maybeMarkRead();
}

// ---- room messages ----------------------------------------------------------------------------

function isOwn(nick) {
  return nameKey(nick) === nameKey(client.nick);
}

function roomMessageView(message) {
  const from = message.from ?? '';
  const text = message.text ?? '';
  return {
    seq: Number(message.seq ?? 0),
    from,
    text,
    timeMs: Number(message.serverTimeMs ?? Date.now()),
    action: Boolean(message.action),
    edited: Boolean(message.edited),
    deleted: Boolean(message.deleted),
    own: isOwn(from),
    mention: !isOwn(from) && mentions(text, client.nick),
  };
}

function insertBySeq(conversation, seq, item) {
  const seqs = conversation.seqs;
  if (seqs.length === 0 || seq > seqs[seqs.length - 1]) {
    seqs.push(seq);
    conversation.log.append(item);
  } else {
    let low = 0;
    let high = seqs.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (seqs[middle] < seq) low = middle + 1;
      else high = middle;
    }
    conversation.log.insertBefore(item, conversation.bySeq.get(seqs[low]));
    seqs.splice(low, 0, seq);
  }
  conversation.bySeq.set(seq, item);
}

// Shows one room message (live, recovered or from history) once, in sequence order.
function addRoomMessage(conversation, message) {
  const view = roomMessageView(message);
  if (view.seq <= 0 || conversation.bySeq.has(view.seq)) return null;
  const item = messageElement(view);
  if (view.own) addOwnActions(item, { onEdit: () => startEdit(conversation, item), onDelete: () => deleteMessage(conversation, item) });
  insertBySeq(conversation, view.seq, item);
  conversation.lastSeq = Math.max(conversation.lastSeq, view.seq);
  const placeholder = message.clientMsgId && conversation.pending.get(message.clientMsgId);
  if (placeholder && view.own) {
    placeholder.remove();
    conversation.pending.delete(message.clientMsgId);
  }
  return { item, view };
}

function onRoomMessages({ room, messages, live }) {
  const conversation = roomConversation(room);
  if (!conversation) return;
  keepingScroll(conversation, () => {
    for (const message of messages) {
      const added = addRoomMessage(conversation, message);
      if (!added) continue;
      stopTyping(conversation, added.view.from);
      if (live && added.view.mention) notifyMention(conversation, added.view);
    }
  });
  if (messages.length) conversation.joinHistoryDue = false;
  updateUnread(conversation);
  maybeMarkRead();
  fillViewWithHistory(conversation);
}

// Pages older messages in when the reader scrolls to the top; keeps the view where it was.
async function loadOlder(conversation) {
  if (conversation.kind !== 'room' || conversation.loadingOlder || conversation.noOlder) return;
  const oldest = conversation.oldestSeq();
  if (oldest === null ? conversation.lastSeq === 0 : oldest <= 1) {
    finishOlder(conversation, 'The beginning of the room.');
    return;
  }
  conversation.loadingOlder = true;
  conversation.historyStatus.textContent = 'Loading older messages…';
  try {
    const before = oldest ?? conversation.lastSeq + 1;
    const reply = await client.history(conversation.name, { beforeSeq: before }, HISTORY_PAGE);
    prependHistory(conversation, reply.messages ?? []);
    if (reply.gap) finishOlder(conversation, 'Older messages are no longer kept.');
    else if (!reply.hasMore || !(reply.messages ?? []).length) finishOlder(conversation, 'The beginning of the room.');
    else conversation.historyStatus.textContent = '';
  } catch (error) {
    conversation.historyStatus.textContent = `Cannot load older messages: ${describeError(error)}`;
    conversation.loadingOlder = false;
    return;
  }
  conversation.loadingOlder = false;
  fillViewWithHistory(conversation);
}

function finishOlder(conversation, why) {
  conversation.noOlder = true;
  conversation.historyStatus.textContent = conversation.seqs.length ? why : '';
}

function prependHistory(conversation, messages) {
  const isOpen = conversation === current;
  const box = ui.messages;
  const heightBefore = box.scrollHeight;
  const topBefore = box.scrollTop;
  const wasAtBottom = isAtBottom();  // a log too short to scroll
  if (isOpen) box.setAttribute('aria-busy', 'true');
  for (const message of messages) addRoomMessage(conversation, message);
  if (!isOpen) return;
  if (wasAtBottom) scrollToBottom();
  else box.scrollTop = topBefore + (box.scrollHeight - heightBefore);
  box.setAttribute('aria-busy', 'false');
}

// A log that does not fill the view cannot be scrolled up: page in until it does.
function fillViewWithHistory(conversation) {
  if (conversation !== current || conversation.noOlder || conversation.joinHistoryDue) return;
  if (ui.messages.scrollHeight <= ui.messages.clientHeight + LOAD_OLDER_AT_PX) loadOlder(conversation);
}

// ---- own room messages: send, edit, delete ----------------------------------------------------

function pendingElement(text, action) {
  const item = element('div', 'pending-message');
  if (action) item.classList.add('action');
  item.append(element('span', 'time', '…'), element('span', `nick ${nickColourClass(client.nick)}`, client.nick),
    element('span', 'pending-text', text), element('span', 'pending-state', 'sending…'));
  return item;
}

function sendRoomMessage(conversation, text, action) {
  const { clientMsgId, done } = client.sendMessage(conversation.name, text, action);
  if (!clientMsgId) {
    done.catch((error) => notice(`Not sent: ${describeError(error)}`, 'error', conversation));
    return;
  }
  const placeholder = pendingElement(text, action);
  conversation.pending.set(clientMsgId, placeholder);
  conversation.pendingList.append(placeholder);
  if (conversation === current) scrollToBottom();
  done.then(
    (ack) => {
      if (conversation.bySeq.has(Number(ack.seq ?? 0))) {
        placeholder.remove();
        conversation.pending.delete(clientMsgId);
      }
    },
    (error) => {
      conversation.pending.delete(clientMsgId);
      placeholder.classList.add('failed');
      placeholder.querySelector('.pending-state').textContent = `not sent: ${describeError(error)}`;
    },
  );
}

function startEdit(conversation, item) {
  if (item.querySelector('.edit-input') || item.classList.contains('deleted')) return;
  const text = item.querySelector('.text');
  const input = element('textarea', 'edit-input');
  input.rows = 1;
  input.value = item.dataset.rawText ?? '';
  input.setAttribute('aria-label', 'Edit the message; Enter saves, Escape cancels');
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      saveEdit(conversation, item, input);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      endEdit(item);
    }
  });
  text.hidden = true;
  item.classList.add('editing');
  text.after(input, element('span', 'edit-hint', 'Enter saves · Esc cancels'));
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

function endEdit(item) {
  for (const part of item.querySelectorAll('.edit-input, .edit-hint, .edit-error')) part.remove();
  item.querySelector('.text').hidden = false;
  item.classList.remove('editing');
  item.querySelector('.edit-button')?.focus();
}

async function saveEdit(conversation, item, input) {
  const text = input.value;
  if (text === item.dataset.rawText) {
    endEdit(item);
    return;
  }
  input.disabled = true;
  try {
    await client.edit(conversation.name, Number(item.dataset.seq), text);
    setMessageText(item, text);
    markEdited(item);
    endEdit(item);
  } catch (error) {
    input.disabled = false;
    input.focus();
    item.querySelector('.edit-error')?.remove();
    input.after(element('span', 'edit-error', `Not saved: ${describeError(error)}`));
  }
}

async function deleteMessage(conversation, item) {
  try {
    await client.remove(conversation.name, Number(item.dataset.seq));
    markDeleted(item);
    ui.composer.focus();
  } catch (error) {
    notice(`Cannot delete that message: ${describeError(error)}`, 'error', conversation);
  }
}

function onMessageEdited({ room = '', seq = '0', text = '' }) {
  const item = roomConversation(room)?.bySeq.get(Number(seq));
  if (!item || item.classList.contains('deleted')) return;
  setMessageText(item, text);
  markEdited(item);
}

function onMessageDeleted({ room = '', seq = '0' }) {
  const item = roomConversation(room)?.bySeq.get(Number(seq));
  if (!item) return;
  for (const part of item.querySelectorAll('.edit-input, .edit-hint, .edit-error')) part.remove();
  item.querySelector('.text').hidden = false;
  item.classList.remove('editing');
  markDeleted(item);
}

// ---- read markers -----------------------------------------------------------------------------

// The open conversation counts as read while the tab is visible and the reader is at the bottom.
function maybeMarkRead() {
  const conversation = current;
  if (!conversation || document.hidden || !isAtBottom()) return;
  if (conversation.kind === 'direct') {
    conversation.directUnread = 0;
    updateUnread(conversation);
    sendReadReceipts(conversation);
    return;
  }
  if (conversation.lastSeq <= conversation.readSeq) return;
  conversation.readSeq = conversation.lastSeq;
  updateUnread(conversation);
  if (!client.registered) return;  // read markers are kept for accounts only
  clearTimeout(conversation.markReadTimer);
  conversation.markReadTimer = setTimeout(() => {
    client.markRead(conversation.name, conversation.readSeq).catch(() => {});
  }, MARK_READ_DELAY_MS);
}

// ---- direct messages --------------------------------------------------------------------------

// The spelling of a nick as the server gave it in some member list, else as typed.
function knownSpelling(nick) {
  for (const conversation of conversations.values()) {
    const known = conversation.members.get(nameKey(nick));
    if (known) return known;
  }
  return nick;
}

function directConversation(nick) {
  return conversations.get(conversationKey('direct', nick)) ?? createConversation('direct', knownSpelling(nick));
}

function openDirect(nick) {
  if (isOwn(nick)) return;
  switchTo(directConversation(nick));
  ui.composer.focus();
}

function sendDirectMessage(nick, text) {
  const conversation = directConversation(nick);
  const { clientMsgId, done } = client.sendDirect(conversation.name, text);
  const item = messageElement({ from: client.nick, text, timeMs: Date.now(), own: true, clientMsgId: clientMsgId ?? '' });
  item.append(receiptElement());
  keepingScroll(conversation, () => conversation.log.append(item));
  if (conversation === current) scrollToBottom();
  if (clientMsgId) sentDirect.set(clientMsgId, item);
  done.then(
    () => setReceipt(item, 'sent'),
    (error) => setReceipt(item, 'failed', error.code === 'NOT_FOUND' ? `no one is called ${nick}` : describeError(error)),
  );
  return conversation;
}

function onDirectMessage({ from = '', text = '', serverTimeMs = '0', clientMsgId = '', action = false }) {
  const conversation = directConversation(from);
  const seenKey = clientMsgId || `${serverTimeMs}:${text}`;
  if (conversation.seenDirect.has(seenKey)) return;  // a resend that reached a new connection
  conversation.seenDirect.add(seenKey);
  const view = { from, text, timeMs: Number(serverTimeMs) || Date.now(), own: false, clientMsgId, action: Boolean(action) };
  keepingScroll(conversation, () => conversation.log.append(messageElement(view)));
  stopTyping(conversation, from);
  if (clientMsgId) conversation.unreceipted.push({ to: from, clientMsgId });
  conversation.directUnread += 1;
  updateUnread(conversation);
  maybeMarkRead();
  notify(`Message from ${from}`, text, conversation);
}

function sendReadReceipts(conversation) {
  for (const { to, clientMsgId } of conversation.unreceipted.splice(0)) {
    client.readReceipt(to, clientMsgId).catch(() => {});
  }
}

function onDirectReceipt({ clientMsgId = '', kind = '' }) {
  const item = sentDirect.get(clientMsgId);
  if (item) setReceipt(item, kind === 'READ' ? 'read' : 'delivered');
}

// ---- members, topic, typing -------------------------------------------------------------------

async function refreshMembers(conversation) {
  try {
    const nicks = await client.who(conversation.name);
    conversation.members = new Map(nicks.map((nick) => [nameKey(nick), nick]));
    if (conversation === current) renderMembers();
  } catch {
    // lost with the connection; the resume asks again
  }
}

function renderMembers() {
  const conversation = current;
  ui.members.replaceChildren();
  if (!conversation) return;
  const nicks = conversation.kind === 'room'
    ? [...conversation.members.values()]
    : [client.nick, conversation.name];
  nicks.sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base' }));
  for (const nick of nicks) ui.members.append(memberItem(nick));
  ui.memberCount.textContent = conversation.kind === 'room' ? `(${nicks.length})` : '';
}

function memberItem(nick) {
  const item = element('li', 'member');
  item.dataset.nick = nick;
  const button = element('button', `member-button ${nickColourClass(nick)}`, nick);
  button.type = 'button';
  if (isOwn(nick)) {
    button.disabled = true;
    button.append(element('span', 'you', ' (you)'));
  } else {
    button.title = `Send ${nick} a direct message`;
    button.addEventListener('click', () => openDirect(nick));
  }
  item.append(button);
  return item;
}

function onMemberJoined({ room = '', nick = '' }) {
  const conversation = roomConversation(room);
  if (!conversation) return;
  conversation.members.set(nameKey(nick), nick);
  if (conversation === current) renderMembers();
}

function onMemberLeft({ room = '', nick = '' }) {
  const conversation = roomConversation(room);
  if (!conversation) return;
  conversation.members.delete(nameKey(nick));
  stopTyping(conversation, nick);
  if (conversation === current) renderMembers();
}

function onNickChanged({ room = '', oldNick = '', newNick = '' }) {
  const conversation = roomConversation(room);
  if (!conversation) return;
  conversation.members.delete(nameKey(oldNick));
  conversation.members.set(nameKey(newNick), newNick);
  stopTyping(conversation, oldNick);
  notice(`${oldNick} is now known as ${newNick}.`, 'info', conversation);
  if (conversation === current) renderMembers();
}

function renderTopic() {
  const conversation = current;
  if (!conversation) return;
  // #topic holds the topic only; the hints for none are CSS content.
  ui.topic.textContent = conversation.kind === 'room' ? conversation.topic : '';
  ui.topic.dataset.kind = conversation.kind;
}

function onTopicChanged({ room = '', topic = '', by = '' }) {
  const conversation = roomConversation(room);
  if (!conversation) return;
  conversation.topic = topic;
  notice(topic ? `${by || 'Someone'} set the topic: ${topic}` : `${by || 'Someone'} cleared the topic.`, 'info', conversation);
  if (conversation === current) renderTopic();
}

function onTyping({ room = '', nick = '' }) {
  const conversation = roomConversation(room);
  if (!conversation || isOwn(nick)) return;
  const key = nameKey(nick);
  clearTimeout(conversation.typing.get(key)?.timer);
  const timer = setTimeout(() => stopTyping(conversation, nick), TYPING_SHOWN_MS);
  conversation.typing.set(key, { nick, timer });
  if (conversation === current) renderTyping();
}

function stopTyping(conversation, nick) {
  const entry = conversation.typing.get(nameKey(nick));
  if (!entry) return;
  clearTimeout(entry.timer);
  conversation.typing.delete(nameKey(nick));
  if (conversation === current) renderTyping();
}

function renderTyping() {
  const nicks = current ? [...current.typing.values()].map((entry) => entry.nick) : [];
  if (nicks.length === 0) ui.typing.textContent = '';
  else if (nicks.length === 1) ui.typing.textContent = `${nicks[0]} is typing…`;
  else if (nicks.length <= 3) ui.typing.textContent = `${nicks.slice(0, -1).join(', ')} and ${nicks.at(-1)} are typing…`;
  else ui.typing.textContent = 'Several people are typing…';
}

function sendTypingSoon() {
  if (!current || current.kind !== 'room') return;
  const text = ui.composer.value;
  if (!text || text.startsWith('/')) return;
  const now = Date.now();
  if (now - lastTypingSentAt < TYPING_SEND_EVERY_MS) return;
  lastTypingSentAt = now;
  client.typing(current.name);
}

// ---- notices and notifications ----------------------------------------------------------------

function notice(text, kind = 'info', conversation = current) {
  const line = noticeElement(text, kind);
  if (!conversation) {
    systemLog.append(line);
    return;
  }
  keepingScroll(conversation, () => conversation.log.append(line));
}

function notificationsSupported() {
  return 'Notification' in window;
}

function updateNotifyButton() {
  if (!notificationsSupported()) {
    ui.notifyButton.textContent = 'Notifications unavailable';
    ui.notifyButton.disabled = true;
    return;
  }
  const permission = Notification.permission;
  ui.notifyButton.textContent = permission === 'granted' ? 'Notifications on'
    : permission === 'denied' ? 'Notifications blocked' : 'Enable notifications';
  ui.notifyButton.disabled = permission !== 'default';
  ui.notifyButton.setAttribute('aria-pressed', permission === 'granted' ? 'true' : 'false');
}

async function requestNotifications() {
  if (!notificationsSupported()) return;
  try {
    await Notification.requestPermission();
  } finally {
    updateNotifyButton();
  }
}

// Only while the tab is hidden, and only after the user allowed it.
function notify(title, body, conversation) {
  if (!document.hidden || !notificationsSupported() || Notification.permission !== 'granted') return;
  const shown = new Notification(title, { body: body.slice(0, 200), tag: conversation.id });
  shown.addEventListener('click', () => {
    window.focus();
    if (conversations.has(conversation.key)) switchTo(conversation);
    shown.close();
  });
}

function notifyMention(conversation, view) {
  notify(`${view.from} in ${conversation.name}`, view.text, conversation);
}

// ---- composer and commands --------------------------------------------------------------------

function onComposerKeydown(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitComposer();
  } else if (event.key === 'ArrowUp' && ui.composer.value === '' && current?.kind === 'room') {
    const own = [...current.log.querySelectorAll('.message.own:not(.deleted)')].at(-1);
    if (!own) return;
    event.preventDefault();
    startEdit(current, own);
  }
}

function submitComposer() {
  const text = ui.composer.value;
  if (text.trim() === '') return;
  ui.composer.value = '';  // before the command runs: it may open another conversation
  const isCommand = text.startsWith('/') && !text.startsWith('//');
  const accepted = isCommand ? runCommand(text) : say(text.startsWith('//') ? text.slice(1) : text, false);
  if (!accepted) ui.composer.value = text;  // to fix and send again
  lastTypingSentAt = 0;
}

// Plain text to the open conversation; false when there is none.
function say(text, action) {
  if (!current) {
    notice('Join a room first: /join name.', 'error');
    return false;
  }
  if (current.kind === 'direct') {
    if (action) {
      notice('/me works in rooms only.', 'error');
      return false;
    }
    sendDirectMessage(current.name, text);
    return true;
  }
  sendRoomMessage(current, text, action);
  return true;
}

const COMMANDS = {
  join: (rest) => requireArgument(rest, '/join room', () => joinRoom(rest.trim(), true)),
  leave: (rest) => commandLeave(rest.trim()),
  part: (rest) => commandLeave(rest.trim()),
  me: (rest) => requireArgument(rest, '/me action', () => say(rest, true)),
  msg: (rest) => commandMsg(rest),
  topic: (rest) => commandTopic(rest.trim()),
  nick: (rest) => requireArgument(rest, '/nick new-nick', () => commandNick(rest.trim())),
  help: () => {
    notice('Commands: /join room, /leave [room], /me action, /msg nick text, /topic text, /nick new-nick. Start a message with // to send a leading /.');
    return true;
  },
};

// True when the command was taken (the composer is cleared).
function runCommand(line) {
  const [, name, rest = ''] = line.match(/^\/(\S*)\s?([\s\S]*)$/) ?? [];
  const command = COMMANDS[(name ?? '').toLowerCase()];
  if (!command) {
    notice(`Unknown command /${name}. Try /help.`, 'error');
    return false;
  }
  return command(rest);
}

function requireArgument(rest, usage, run) {
  if (rest.trim() === '') {
    notice(`Usage: ${usage}`, 'error');
    return false;
  }
  run();
  return true;
}

function commandLeave(room) {
  const conversation = room ? roomConversation(room) : current;
  if (!conversation) {
    notice(room ? `You are not in ${room}.` : 'Nothing to leave.', 'error');
    return false;
  }
  leaveConversation(conversation);
  return true;
}

function commandMsg(rest) {
  const [, nick, text] = rest.match(/^(\S+)\s+([\s\S]+)$/) ?? [];
  if (!nick || !text.trim()) {
    notice('Usage: /msg nick text', 'error');
    return false;
  }
  if (isOwn(nick)) {
    notice('That is you.', 'error');
    return false;
  }
  switchTo(sendDirectMessage(nick, text));
  return true;
}

function commandTopic(topic) {
  if (!current || current.kind !== 'room') {
    notice('/topic works in rooms only.', 'error');
    return false;
  }
  const conversation = current;
  client.setTopic(conversation.name, topic).catch((error) => notice(`Topic not set: ${describeError(error)}`, 'error', conversation));
  return true;
}

async function commandNick(nick) {
  const before = client.nick;
  try {
    await client.setNick(nick);
  } catch (error) {
    notice(`Nick not changed: ${describeError(error)}`, 'error');
    return;
  }
  ui.ownNick.textContent = client.nick;
  notice(`You are now known as ${client.nick} (was ${before}).`);
  saveRooms();
  renderMembers();
}

// Joins a room (or opens it when joined already); a join lost with the connection is tried again
// after the reconnect, up to `attempts` times.
async function joinRoom(name, open, attempts = 1) {
  const existing = roomConversation(name);
  if (existing && client.isJoined(name)) {
    if (open) switchTo(existing);
    return existing;
  }
  for (let attempt = 1; ; attempt += 1) {
    try {
      const reply = await client.join(name, HISTORY_ON_JOIN);
      const conversation = roomConversation(reply.room ?? name);
      if (conversation && (open || !current)) switchTo(conversation);
      return conversation;
    } catch (error) {
      if (error.code === 'UNAVAILABLE' && attempt < attempts && client.state !== 'closed') {
        await client.whenConnected();
        continue;
      }
      notice(`Cannot join ${name}: ${describeError(error)}`, 'error');
      return null;
    }
  }
}

// Scroll-back waits for the join's own recent messages rather than asking for the same ones.
function expectJoinHistory(conversation) {
  conversation.joinHistoryDue = true;
  setTimeout(() => {
    conversation.joinHistoryDue = false;
    fillViewWithHistory(conversation);
  }, JOIN_HISTORY_WAIT_MS);
}

function onJoined({ reply, resumed }) {
  const name = reply.room ?? '';
  const lastSeq = Number(reply.lastSeq ?? 0);
  let conversation = roomConversation(name);
  const fresh = !conversation;
  if (fresh) {
    conversation = createConversation('room', name);
    saveRooms();
  }
  conversation.topic = reply.topic ?? '';
  conversation.lastSeq = Math.max(conversation.lastSeq, lastSeq);
  if (fresh && !resumed) {
    const marker = readMarkers.get(nameKey(name));
    conversation.readSeq = marker !== undefined ? Math.min(marker, lastSeq) : lastSeq;
    if (lastSeq > 0) expectJoinHistory(conversation);
  }
  updateUnread(conversation);
  refreshMembers(conversation);
  if (conversation === current) renderTopic();
}

// ---- connection banner ------------------------------------------------------------------------

function showBanner(state, text, { retry = false } = {}) {
  ui.banner.dataset.state = state;
  ui.banner.hidden = state === 'connected';
  ui.bannerText.textContent = text;
  ui.retryButton.hidden = !retry;
}

function onConnectionState({ state, retryAt, reason, reconnect }) {
  clearInterval(bannerTimer);
  clearTimeout(bannerTimer);
  if (ui.chatView.hidden) return;  // the login screen shows its own progress
  if (state === 'connecting') showBanner('connecting', 'Connecting…');
  else if (state === 'reconnecting') countDown(retryAt, reason);
  else if (state === 'connected' && reconnect) showBanner('resumed', 'Connected, catching up…');
  else if (state === 'connected') showBanner('connected', '');
  else if (state === 'closed') showBanner('closed', `Disconnected${reason ? ': ' + reason : ''}. Reload the page to log in again.`);
}

function countDown(retryAt, reason) {
  const update = () => {
    const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
    showBanner('reconnecting', `Reconnecting in ${seconds} s${reason ? ` (${reason})` : ''}`, { retry: true });
  };
  update();
  bannerTimer = setInterval(update, 250);
}

function onResumed({ missed, lost }) {
  for (const name of lost) {
    const conversation = roomConversation(name);
    if (conversation) removeConversation(conversation);
    notice(`Could not rejoin ${name}; /join it again.`, 'error');
  }
  const what = missed === 1 ? '1 missed message' : `${missed} missed messages`;
  showBanner('resumed', `Resumed: ${what}`);
  bannerTimer = setTimeout(() => showBanner('connected', ''), RESUMED_SHOWN_MS);
  for (const conversation of conversations.values()) {
    if (conversation.kind === 'room') updateUnread(conversation);
  }
}

function onDisconnect({ reason }) {
  if (reason === 'SERVER_SHUTDOWN') notice('The server is restarting.', 'info');
}

// ---- login ------------------------------------------------------------------------------------

function describeError(error) {
  if (!(error instanceof ChatError)) return String(error?.message ?? error);
  return error.message || error.code;
}

function describeLoginError(error, { nick, password, register }) {
  switch (error.code) {
    case 'NICK_IN_USE':
      return register ? `"${nick}" is registered already or in use. Log in with its password, or pick another nick.`
        : `The nick "${nick}" is in use. Pick another one.`;
    case 'AUTH_FAILED':
      if (register) return `"${nick}" is registered already: log in with its password.`;
      return password ? `Wrong password for "${nick}".` : `"${nick}" is registered: enter its password.`;
    case 'RATE_LIMITED':
      return `Too many attempts. Try again in ${Math.max(1, Math.ceil(error.retryAfterMs / 1000))} s.`;
    case 'INVALID_NAME':
      return `That nick is not allowed: ${error.message}.`;
    case 'BAD_REQUEST':
      return register ? `Not registered: ${error.message}.` : error.message;
    case 'FORBIDDEN':
      return `Not allowed: ${error.message}.`;
    case 'UNAVAILABLE':
      return `Cannot reach the chat server: ${error.message}.`;
    default:
      return error.message || error.code;
  }
}

// A problem the server would refuse anyway, found before connecting; null when there is none.
function loginProblem({ nick, password, register }) {
  if (!nick) return 'Enter a nick.';
  if (register) {
    const bytes = new TextEncoder().encode(password).length;
    if (bytes < MIN_PASSWORD_BYTES || bytes > MAX_PASSWORD_BYTES) {
      return `To register, enter a password of ${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes.`;
    }
  }
  return null;
}

function setLoginBusy(busy, status = '') {
  ui.loginButton.disabled = busy;
  ui.registerButton.disabled = busy;
  ui.loginStatus.textContent = status;
}

async function login(register) {
  const form = { nick: ui.loginNick.value.trim(), password: ui.loginPassword.value, register };
  ui.loginError.textContent = '';
  const problem = loginProblem(form);
  if (problem) {
    ui.loginError.textContent = problem;
    (form.nick ? ui.loginPassword : ui.loginNick).focus();
    return;
  }
  setLoginBusy(true, register ? 'Connecting and registering…' : 'Connecting…');
  try {
    const welcome = await client.login(form);
    enterChat(welcome, register);
  } catch (error) {
    ui.loginError.textContent = describeLoginError(error, form);
    ui.loginNick.focus();
  } finally {
    setLoginBusy(false);
  }
}

const LAST_NICK_KEY = 'chat.lastNick';

function rememberNick(nick) {
  try {
    localStorage.setItem(LAST_NICK_KEY, nick);
  } catch {
    // storage refused: the login form starts empty
  }
}

function lastNick() {
  try {
    return localStorage.getItem(LAST_NICK_KEY) ?? '';
  } catch {
    return '';
  }
}

function enterChat(welcome, registered) {
  rememberNick(client.nick);
  ui.loginView.hidden = true;
  ui.chatView.hidden = false;
  ui.loginPassword.value = '';
  ui.ownNick.textContent = client.nick;
  readMarkers = new Map((welcome.readMarkers ?? []).map((marker) => [nameKey(marker.room ?? ''), Number(marker.seq ?? 0)]));
  showBanner('connected', '');
  showNothing();
  if (registered) notice(`Registered ${client.nick}: log in with this password next time.`);
  if (welcome.motd) notice(welcome.motd, 'motd');
  joinSavedRooms();
  ui.composer.focus();
}

async function joinSavedRooms() {
  const saved = savedRooms();
  for (const room of saved.rooms) await joinRoom(room, false, JOIN_ATTEMPTS);
  const wanted = saved.current ? roomConversation(saved.current) : null;
  if (wanted) switchTo(wanted);
}

function logout() {
  client.close();
  location.reload();
}

// ---- the drawer (phone width) -----------------------------------------------------------------

function setDrawer(open) {
  document.body.classList.toggle('drawer-open', open);
  ui.sidebarToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  ui.sidebarToggle.setAttribute('aria-label', open ? 'Hide rooms and members' : 'Show rooms and members');
  ui.sidebarToggle.querySelector('.toggle-icon').textContent = open ? '✕' : '☰';
  if (open) ui.joinInput.focus();
}

function closeDrawer() {
  if (document.body.classList.contains('drawer-open')) setDrawer(false);
}

// ---- wiring -----------------------------------------------------------------------------------

function wire() {
  ui.loginForm.addEventListener('submit', (event) => {
    event.preventDefault();
    login(false);
  });
  ui.registerButton.addEventListener('click', () => login(true));
  ui.composerForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitComposer();
    ui.composer.focus();
  });
  ui.composer.addEventListener('keydown', onComposerKeydown);
  ui.composer.addEventListener('input', sendTypingSoon);
  ui.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const room = ui.joinInput.value.trim();
    if (!room) return;
    ui.joinInput.value = '';
    joinRoom(room, true).then((conversation) => {
      if (conversation) ui.composer.focus();
    });
  });
  ui.messages.addEventListener('scroll', onMessagesScroll, { passive: true });
  ui.retryButton.addEventListener('click', () => client.retryNow());
  ui.notifyButton.addEventListener('click', requestNotifications);
  ui.logoutButton.addEventListener('click', logout);
  ui.sidebarToggle.addEventListener('click', () => setDrawer(!document.body.classList.contains('drawer-open')));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('drawer-open')) {
      setDrawer(false);
      ui.sidebarToggle.focus();
    }
  });
  document.querySelector('.conversation').addEventListener('pointerdown', closeDrawer);
  document.addEventListener('visibilitychange', maybeMarkRead);
  window.addEventListener('online', () => client.retryNow());
  // A log that was at the bottom stays there when its box shrinks (banner, phone keyboard).
  new ResizeObserver(() => {
    if (current?.atBottom) scrollToBottom();
    if (current) fillViewWithHistory(current);
  }).observe(ui.messages);

  client.on('state', onConnectionState);
  client.on('joined', onJoined);
  client.on('messages', onRoomMessages);
  client.on('resumed', onResumed);
  client.on('disconnect', onDisconnect);
  client.on('messageEdited', onMessageEdited);
  client.on('messageDeleted', onMessageDeleted);
  client.on('memberJoined', onMemberJoined);
  client.on('memberLeft', onMemberLeft);
  client.on('nickChanged', onNickChanged);
  client.on('topicChanged', onTopicChanged);
  client.on('typing', onTyping);
  client.on('directMessage', onDirectMessage);
  client.on('directReceipt', onDirectReceipt);
}

// For tests: a plain snapshot of what the client knows.
window.chatDebug = {
  state() {
    const rooms = {};
    const directs = {};
    for (const conversation of conversations.values()) {
      if (conversation.kind === 'room') {
        rooms[conversation.name] = { lastSeq: client.lastSeen(conversation.name), unread: conversation.unread };
      } else {
        directs[conversation.id] = { unread: conversation.unread };
      }
    }
    return {
      connected: client.state === 'connected',
      nick: client.nick,
      rooms,
      directs,
      currentRoom: current ? current.id : null,
    };
  },
};

wire();
updateNotifyButton();
ui.loginNick.value = lastNick();
(ui.loginNick.value ? ui.loginPassword : ui.loginNick).focus();
