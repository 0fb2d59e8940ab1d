/* b2b_strerror and b2b_status_code, generated from the one status table in error.h. */
#include "b2bbudget/error.h"

const char *b2b_strerror(int status) {
    switch (status) {
#define B2B__STATUS_MSG(name, num, code, msg)                                                      \
    case (num):                                                                                    \
        return msg;
        B2B_STATUS_MAP(B2B__STATUS_MSG)
#undef B2B__STATUS_MSG
    default:
        return "unknown status";
    }
}

const char *b2b_status_code(int status) {
    switch (status) {
#define B2B__STATUS_CODE(name, num, code, msg)                                                     \
    case (num):                                                                                    \
        return code;
        B2B_STATUS_MAP(B2B__STATUS_CODE)
#undef B2B__STATUS_CODE
    default:
        return "unknown";
    }
}
