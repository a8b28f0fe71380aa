#pragma once
// Tells an encoded ServerFrame that answers a request (a reply or Error) from an event, from its
// first bytes: a session counts the answers it owes without every sender of a frame saying so.

#include "framing.hpp"

namespace chat::server {

// True for a reply case (Welcome, Ok, Error, JoinReply, Ack, RoomList, MemberList, HistoryReply,
// Pong), false for an event or bytes that are no ServerFrame.
bool answers_request(const EncodedFrame& frame);

}  // namespace chat::server
