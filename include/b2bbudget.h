/**
 * @file b2bbudget.h
 * @brief libb2bbudget: the budget and approval rules of b2bbudget, pure C, no I/O.
 *
 * Include this one header. Modules:
 * - b2bbudget/error.h      status codes and messages
 * - b2bbudget/money.h      exact money parsing, formatting, arithmetic
 * - b2bbudget/plan.h       budget plans (annual, months, fiscal year, rollover)
 * - b2bbudget/check.h      budget check (within / near / over / unset / currency mismatch)
 * - b2bbudget/state.h      the approval state machine
 * - b2bbudget/permission.h roles, locations and every failing reason
 *
 * Conventions: functions return B2B_OK (0) or a negative ::b2b_status; out-parameters come first
 * and are written only on success; objects are opaque with _new/_free and _free(NULL) is a no-op;
 * no global state, every function is reentrant.
 */
#ifndef B2BBUDGET_H
#define B2BBUDGET_H

#include "b2bbudget/common.h"
#include "b2bbudget/error.h"
#include "b2bbudget/money.h"
#include "b2bbudget/plan.h"
#include "b2bbudget/check.h"
#include "b2bbudget/state.h"
#include "b2bbudget/permission.h"

#endif
