#pragma once
// The IRC listener's front door: each connection is a Session whose wire format is IRC lines
// (IrcCodec), plain or after a TLS handshake; a refused client gets an IRC ERROR line.

#include "front_door.hpp"

namespace chat::server {

FrontDoor irc_front_door();

}  // namespace chat::server
