# Compiles each generated header-check source alone as strict C99 (run by CTest as c_headers).
# Input: CC (compiler), INCLUDE_DIR (public include directory), SOURCES (list of .c files).
if(NOT SOURCES)
  message(FATAL_ERROR "no header-check sources")
endif()
set(failed 0)
foreach(src IN LISTS SOURCES)
  execute_process(
    COMMAND ${CC} -std=c99 -pedantic -Werror -Wall -Wextra -I${INCLUDE_DIR} -fsyntax-only ${src}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(STATUS "ok   ${src}")
  else()
    message(STATUS "FAIL ${src}\n${out}${err}")
    math(EXPR failed "${failed} + 1")
  endif()
endforeach()
if(failed GREATER 0)
  message(FATAL_ERROR "${failed} public header(s) are not self-contained")
endif()
