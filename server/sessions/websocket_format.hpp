#pragma once
// The two ways chat.v1 travels over WebSocket: binary messages (subprotocol "chat.v1") or text
// messages in protobuf's JSON mapping ("chat.v1.json").

namespace chat::server {

enum class WebSocketFormat { binary, json };

}  // namespace chat::server
