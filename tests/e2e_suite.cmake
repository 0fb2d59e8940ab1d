# b2b_e2e_suite(NAME <prefix> SCRIPT <file.py> [TIMEOUT <s>]): an end-to-end suite of the server
# (Python standard library: the real simulator and the real server over loopback HTTP) run twice,
# <prefix>_sqlite on temporary SQLite files and <prefix>_pg on the throwaway PostgreSQL cluster of
# the `pg` fixture (tests/server/pg.sh). Label "server". The suites share tests/http/harness.py and
# tests/http/stack.py.
if(EXISTS /usr/bin/python3)
  set(B2B_E2E_PYTHON_DEFAULT /usr/bin/python3)
else()
  find_program(B2B_E2E_PYTHON_DEFAULT NAMES python3 REQUIRED)
endif()
set(B2B_E2E_PYTHON ${B2B_E2E_PYTHON_DEFAULT} CACHE FILEPATH
    "Python 3 interpreter of the end-to-end suites (and the simulator they start)")

function(b2b_e2e_suite)
  cmake_parse_arguments(S "" "NAME;SCRIPT;TIMEOUT" "" ${ARGN})
  if(NOT S_TIMEOUT)
    set(S_TIMEOUT 900)
  endif()
  # Where the pg fixture writes its URL: B2B_PG_STATE of tests/server (its binary dir + /pg).
  get_filename_component(pg_state ${PROJECT_BINARY_DIR}/tests/server/pg ABSOLUTE)
  set(tmp ${CMAKE_CURRENT_BINARY_DIR}/tmp)
  file(MAKE_DIRECTORY ${tmp})
  set(env "B2B_SERVER_BIN=$<TARGET_FILE:b2bbudget-server>" "B2B_SIM_PYTHON=${B2B_E2E_PYTHON}"
          "TMPDIR=${tmp}" "PYTHONDONTWRITEBYTECODE=1")
  add_test(NAME ${S_NAME}_sqlite COMMAND ${B2B_E2E_PYTHON} ${S_SCRIPT})
  set_tests_properties(${S_NAME}_sqlite PROPERTIES LABELS server TIMEOUT ${S_TIMEOUT}
    ENVIRONMENT "${env};B2B_TEST_BACKEND=sqlite")
  add_test(NAME ${S_NAME}_pg COMMAND ${B2B_E2E_PYTHON} ${S_SCRIPT})
  set_tests_properties(${S_NAME}_pg PROPERTIES LABELS server TIMEOUT ${S_TIMEOUT}
    FIXTURES_REQUIRED pg
    ENVIRONMENT "${env};B2B_TEST_BACKEND=pg;B2B_PG_URL_FILE=${pg_state}/pg_url")
endfunction()
