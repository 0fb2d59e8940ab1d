# CTest docs_doxygen: runs Doxygen on the public headers and fails on any warning.
# Variables: DOXYGEN (executable), DOXYFILE, OUTPUT_DIR, LOG (its WARN_LOGFILE).
file(REMOVE_RECURSE ${OUTPUT_DIR})
file(MAKE_DIRECTORY ${OUTPUT_DIR})
execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "doxygen failed (${rc}):\n${out}${err}")
endif()
if(NOT EXISTS ${LOG})
  message(FATAL_ERROR "doxygen wrote no warning log ${LOG}:\n${out}${err}")
endif()
file(READ ${LOG} warnings)
string(STRIP "${warnings}" warnings)
if(NOT warnings STREQUAL "")
  message(FATAL_ERROR "Doxygen warnings in the public headers (document them in include/):\n"
                      "${warnings}")
endif()
message(STATUS "doxygen: no warnings")
