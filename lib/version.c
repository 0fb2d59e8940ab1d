/* Run-time version, to detect a program built against other headers. */
#include "b2bbudget/common.h"

const char *b2b_version(void) {
    return B2B_VERSION_STRING;
}

int b2b_version_number(void) {
    return B2B_VERSION_MAJOR * 10000 + B2B_VERSION_MINOR * 100 + B2B_VERSION_PATCH;
}
