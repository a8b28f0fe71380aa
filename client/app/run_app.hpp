#pragma once
// The whole app for main(): the terminal (readline) or the script mode around one ChatApp.

#include "app_options.hpp"

namespace chat::client::app {

// Runs until /quit, Ctrl-D, SIGINT/SIGTERM, or (script mode) the end of stdin. Returns the exit
// status.
int run_app(const AppOptions& options);

}  // namespace chat::client::app
