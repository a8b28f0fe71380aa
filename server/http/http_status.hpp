#pragma once
// The reason phrases of the HTTP statuses the server answers with.

#include <string_view>

namespace chat::server {

// "" for a status without one here (a reason phrase may be empty: RFC 9112, section 4).
std::string_view reason_phrase(int status);

}  // namespace chat::server
