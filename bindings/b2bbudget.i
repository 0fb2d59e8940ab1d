/*
 * b2bbudget.i: the one SWIG interface of libb2bbudget, for every target language.
 *
 * It produces the *raw* modules (Python: b2bbudget.raw + b2bbudget._raw; Node:
 * b2bbudget_native.node). They mirror the C API closely and are internal: applications use the
 * hand-written idiomatic layers (bindings/python/b2bbudget/__init__.py, bindings/node/index.js),
 * which turn status codes into exceptions and plain numbers into enums.
 *
 * Differences from the C API:
 * - opaque objects (b2b_plan, b2b_check, b2b_actor) are classes with a constructor and a
 *   destructor, so the target language's garbage collector frees them; *_new/*_free are hidden;
 *   b2b_actor() starts as a requester (use b2b_actor_set_role);
 * - functions with scalar out-parameters are replaced by the b2bx_* helpers of
 *   b2bbudget_shim.h (an int64_t result goes to a b2b_amount, an enum result is returned);
 * - struct out-parameters (b2b_amount, b2b_text, b2b_check_line, b2b_case, b2b_decision,
 *   b2b_fiscal_pos) are passed as objects created by the caller, e.g. t = b2b_text();
 *   b2b_money_format(t, 43600, "EUR"); t.text;
 * - JavaScript only: every int64_t argument must be a Number that is a safe integer
 *   (|n| <= 2^53 - 1), otherwise a RangeError/TypeError is thrown instead of losing precision.
 */
#if defined(SWIGPYTHON)
%module(package = "b2bbudget") raw
#else
%module b2bbudget_native
#endif

%{
#include "b2bbudget.h"
#include "b2bbudget_shim.h"
%}

%include <stdint.i>

#if defined(SWIGJAVASCRIPT)
/* Amounts are Numbers; refuse anything a double cannot hold exactly. */
%typemap(in) int64_t {
  if (!$input->IsNumber()) {
    SWIG_exception_fail(SWIG_TypeError, "in method '$symname', argument $argnum of type 'int64_t': not a Number");
  }
  {
    double d_ = SWIGV8_NUMBER_VALUE($input);
    if (!(d_ >= -9007199254740991.0 && d_ <= 9007199254740991.0) || d_ != (double)(int64_t)d_) {
      SWIG_exception_fail(SWIG_OverflowError, "in method '$symname', argument $argnum of type 'int64_t': not a safe integer");
    }
    $1 = (int64_t)d_;
  }
}
%typemap(typecheck, precedence = SWIG_TYPECHECK_INT64) int64_t {
  $1 = $input->IsNumber() ? 1 : 0;
}
#endif

/* The X-macro table is for C; the enum it builds is wrapped. */
%ignore B2B__STATUS_END;

/* Replaced by constructors and destructors below. */
%ignore b2b_plan_new;
%ignore b2b_plan_free;
%ignore b2b_check_new;
%ignore b2b_check_free;
%ignore b2b_actor_new;
%ignore b2b_actor_free;

/* Scalar out-parameters: replaced by the b2bx_* helpers. */
%ignore b2b_money_parse;
%ignore b2b_money_add;
%ignore b2b_money_sub;
%ignore b2b_money_mul;
%ignore b2b_money_basis_amount;
%ignore b2b_level_from_name;
%ignore b2b_state_from_name;
%ignore b2b_event_from_name;
%ignore b2b_role_from_name;
%ignore b2b_action_from_name;
%ignore b2b_basis_from_name;
%ignore b2b_state_next;
%ignore b2b_decision_reason_at;

/* SWIG-only: lets SWIG evaluate B2B_MONEY_MAX, which is written with INT64_C. */
#define INT64_C(c) c##LL

%include "b2bbudget/common.h"
%include "b2bbudget/error.h"
%include "b2bbudget/money.h"
%include "b2bbudget/plan.h"
%include "b2bbudget/check.h"
%include "b2bbudget/state.h"
%include "b2bbudget/permission.h"

/* The opaque objects, as SWIG sees them: empty structs with a constructor and a destructor. */
struct b2b_plan {};
struct b2b_check {};
struct b2b_actor {};

%extend b2b_plan {
  b2b_plan() { return b2b_plan_new(); }
  ~b2b_plan() { b2b_plan_free($self); }
}
%extend b2b_check {
  b2b_check() { return b2b_check_new(); }
  ~b2b_check() { b2b_check_free($self); }
}
%extend b2b_actor {
  b2b_actor() { return b2b_actor_new(B2B_ROLE_REQUESTER); }
  ~b2b_actor() { b2b_actor_free($self); }
}

%include "b2bbudget_shim.h"
