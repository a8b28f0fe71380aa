# chat_sanitizers: link PRIVATE to every target; empty unless CHAT_SANITIZERS is set.
add_library(chat_sanitizers INTERFACE)
if(CHAT_SANITIZERS)
  list(JOIN CHAT_SANITIZERS "," chat_sanitizer_list)
  target_compile_options(chat_sanitizers INTERFACE
    -fsanitize=${chat_sanitizer_list} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(chat_sanitizers INTERFACE -fsanitize=${chat_sanitizer_list})
endif()
