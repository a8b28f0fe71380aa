# chat_sanitizers: link PRIVATE to every target; empty unless CHAT_SANITIZERS is set.
add_library(chat_sanitizers INTERFACE)
if(CHAT_SANITIZERS)
  list(JOIN CHAT_SANITIZERS "," chat_sanitizer_list)
  target_compile_options(chat_sanitizers INTERFACE
    -fsanitize=${chat_sanitizer_list} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(chat_sanitizers INTERFACE -fsanitize=${chat_sanitizer_list})
  if("thread" IN_LIST CHAT_SANITIZERS AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC notes that TSan does not model std::atomic_thread_fence (used inside Asio): not our code.
    target_compile_options(chat_sanitizers INTERFACE -Wno-tsan)
  endif()
endif()
