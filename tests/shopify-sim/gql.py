"""A small GraphQL parser, executor and cost estimator for the Shopify simulator.

Standard library only. It parses executable documents (operations, variables, fields with
aliases and arguments, inline fragments, fragment spreads, @include/@skip), executes a selection
set against simulator objects (Obj) and estimates a query's cost with Shopify's published rules:
scalar/enum 0, object 1, connection 2 + first x (cost of one item), mutation 10, union/interface
the maximum of the alternatives. tests/graphql/validate.mjs uses the same cost rules.
"""

import json
import re


class GraphQLError(Exception):
    """An error reported in the response's errors[] (no data)."""

    def __init__(self, message, code=None, locations=None, path=None, extra=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.locations = locations
        self.path = path
        self.extra = extra or {}

    def to_json(self):
        err = {"message": self.message}
        if self.locations:
            err["locations"] = self.locations
        if self.path:
            err["path"] = self.path
        ext = dict(self.extra)
        if self.code:
            ext["code"] = self.code
        if ext:
            err["extensions"] = ext
        return err


# ---- lexer ----

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[\s,\ufeff]+|\#[^\n\r]*)
   |(?P<spread>\.\.\.)
   |(?P<punct>[!$&()\:=@\[\]{}|])
   |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
   |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
   |(?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
   |(?P<string>"(?:\\.|[^"\\\n])*")
    """,
    re.X,
)

MAX_DOCUMENT = 100_000
MAX_DEPTH = 30


def _tokens(text):
    if len(text) > MAX_DOCUMENT:
        raise GraphQLError("Query is too large", code="PARSE_ERROR")
    pos = 0
    line, col_base = 1, 0
    out = []
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise GraphQLError(
                "syntax error, unexpected character %r" % text[pos],
                code="PARSE_ERROR",
                locations=[{"line": line, "column": pos - col_base + 1}],
            )
        kind = m.lastgroup
        val = m.group(kind)
        if kind != "ws":
            out.append((kind, val, line, pos - col_base + 1))
        nl = val.count("\n")
        if nl:
            line += nl
            col_base = pos + val.rfind("\n") + 1
        pos = m.end()
    out.append(("eof", None, line, pos - col_base + 1))
    return out


# ---- AST ----


class Field:
    __slots__ = ("alias", "name", "args", "sel", "directives", "loc")

    def __init__(self, alias, name, args, sel, directives, loc):
        self.alias, self.name, self.args, self.sel = alias, name, args, sel
        self.directives, self.loc = directives, loc


class InlineFragment:
    __slots__ = ("type_cond", "sel", "directives")

    def __init__(self, type_cond, sel, directives):
        self.type_cond, self.sel, self.directives = type_cond, sel, directives


class FragmentSpread:
    __slots__ = ("name", "directives")

    def __init__(self, name, directives):
        self.name, self.directives = name, directives


class Operation:
    __slots__ = ("kind", "name", "var_defs", "sel")

    def __init__(self, kind, name, var_defs, sel):
        self.kind, self.name, self.var_defs, self.sel = kind, name, var_defs, sel


class Var:
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name


class Enum(str):
    """An enum literal (kept apart from strings)."""


class Document:
    def __init__(self, operations, fragments):
        self.operations = operations
        self.fragments = fragments

    def operation(self, name=None):
        if name:
            for op in self.operations:
                if op.name == name:
                    return op
            raise GraphQLError('Unknown operation named "%s".' % name, code="OPERATION_NOT_FOUND")
        if len(self.operations) != 1:
            raise GraphQLError(
                "An operation name is required when the document has several operations",
                code="OPERATION_NAME_REQUIRED",
            )
        return self.operations[0]


class _Parser:
    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self, k=0):
        return self.toks[self.i + k]

    def err(self, what=None):
        kind, val, line, col = self.peek()
        msg = "syntax error, unexpected %s" % ("end of file" if kind == "eof" else repr(val))
        if what:
            msg += " (expected %s)" % what
        raise GraphQLError(msg, code="PARSE_ERROR", locations=[{"line": line, "column": col}])

    def take(self, kind, val=None):
        t = self.peek()
        if t[0] != kind or (val is not None and t[1] != val):
            self.err(val or kind)
        self.i += 1
        return t

    def at(self, kind, val=None):
        t = self.peek()
        return t[0] == kind and (val is None or t[1] == val)

    def document(self):
        ops, frags = [], {}
        while not self.at("eof"):
            if self.at("punct", "{"):
                ops.append(Operation("query", None, [], self.selset()))
            elif self.at("name", "fragment"):
                self.i += 1
                name = self.take("name")[1]
                self.take("name", "on")
                tc = self.take("name")[1]
                self.directives()
                frags[name] = InlineFragment(tc, self.selset(), [])
            elif self.at("name") and self.peek()[1] in ("query", "mutation", "subscription"):
                kind = self.take("name")[1]
                name = self.take("name")[1] if self.at("name") else None
                var_defs = self.var_defs() if self.at("punct", "(") else []
                self.directives()
                ops.append(Operation(kind, name, var_defs, self.selset()))
            else:
                self.err("definition")
        if not ops:
            raise GraphQLError("No operations in the document", code="PARSE_ERROR")
        return Document(ops, frags)

    def var_defs(self):
        self.take("punct", "(")
        out = []
        while not self.at("punct", ")"):
            self.take("punct", "$")
            name = self.take("name")[1]
            self.take("punct", ":")
            typ = self.type_ref()
            default = None
            has_default = False
            if self.at("punct", "="):
                self.i += 1
                default = self.value(const=True)
                has_default = True
            self.directives()
            out.append((name, typ, has_default, default))
        self.take("punct", ")")
        return out

    def type_ref(self):
        if self.at("punct", "["):
            self.i += 1
            inner = self.type_ref()
            self.take("punct", "]")
            t = "[" + inner + "]"
        else:
            t = self.take("name")[1]
        if self.at("punct", "!"):
            self.i += 1
            t += "!"
        return t

    def directives(self):
        out = []
        while self.at("punct", "@"):
            self.i += 1
            name = self.take("name")[1]
            args = self.arguments() if self.at("punct", "(") else {}
            out.append((name, args))
        return out

    def arguments(self):
        self.take("punct", "(")
        args = {}
        while not self.at("punct", ")"):
            name = self.take("name")[1]
            self.take("punct", ":")
            args[name] = self.value()
        self.take("punct", ")")
        return args

    def value(self, const=False):
        kind, val, _, _ = self.peek()
        if kind == "punct" and val == "$" and not const:
            self.i += 1
            return Var(self.take("name")[1])
        if kind == "number":
            self.i += 1
            return float(val) if any(c in val for c in ".eE") else int(val)
        if kind == "string":
            self.i += 1
            return json.loads(val)
        if kind == "block":
            self.i += 1
            return val[3:-3].replace('\\"""', '"""')
        if kind == "name":
            self.i += 1
            if val == "true":
                return True
            if val == "false":
                return False
            if val == "null":
                return None
            return Enum(val)
        if kind == "punct" and val == "[":
            self.i += 1
            out = []
            while not self.at("punct", "]"):
                out.append(self.value(const))
            self.i += 1
            return out
        if kind == "punct" and val == "{":
            self.i += 1
            out = {}
            while not self.at("punct", "}"):
                k = self.take("name")[1]
                self.take("punct", ":")
                out[k] = self.value(const)
            self.i += 1
            return out
        self.err("value")

    def selset(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise GraphQLError("Query is nested too deeply", code="PARSE_ERROR")
        self.take("punct", "{")
        out = []
        while not self.at("punct", "}"):
            if self.at("spread"):
                self.i += 1
                if self.at("name", "on"):
                    self.i += 1
                    tc = self.take("name")[1]
                    d = self.directives()
                    out.append(InlineFragment(tc, self.selset(), d))
                elif self.at("name"):
                    name = self.take("name")[1]
                    out.append(FragmentSpread(name, self.directives()))
                else:
                    d = self.directives()
                    out.append(InlineFragment(None, self.selset(), d))
                continue
            t = self.take("name")
            name, alias = t[1], None
            if self.at("punct", ":"):
                self.i += 1
                alias, name = name, self.take("name")[1]
            args = self.arguments() if self.at("punct", "(") else {}
            d = self.directives()
            sel = self.selset() if self.at("punct", "{") else None
            out.append(Field(alias, name, args, sel, d, {"line": t[2], "column": t[3]}))
        self.take("punct", "}")
        if not out:
            self.err("selection")
        self.depth -= 1
        return out


def parse(text):
    return _Parser(text).document()


# ---- cost estimate (Shopify's rules; same algorithm as tests/graphql/validate.mjs) ----


def estimate_cost(op, fragments):
    def sel_cost(sel):
        if not sel:
            return 0
        total, alt = 0, 0
        for s in sel:
            if isinstance(s, Field):
                total += field_cost(s)
            elif isinstance(s, InlineFragment):
                alt = max(alt, sel_cost(s.sel))
            elif isinstance(s, FragmentSpread) and s.name in fragments:
                alt = max(alt, sel_cost(fragments[s.name].sel))
        return total + alt

    def page_size(f):
        for k in ("first", "last"):
            if k in f.args:
                v = f.args[k]
                return v if isinstance(v, int) else 250
        return None

    def item_cost(f):
        c = 0
        for s in f.sel:
            if not isinstance(s, Field):
                continue
            if s.name == "nodes":
                c = max(c, 1 + sel_cost(s.sel))
            elif s.name == "edges":
                for e in s.sel or []:
                    if isinstance(e, Field) and e.name == "node":
                        c = max(c, 1 + sel_cost(e.sel))
        return c

    def field_cost(f):
        if not f.sel:
            return 0
        n = page_size(f)
        if n is not None:
            return 2 + n * item_cost(f)
        return 1 + sel_cost(f.sel)

    if op.kind == "mutation":
        return sum(10 + sel_cost(s.sel) for s in op.sel if isinstance(s, Field))
    return sel_cost(op.sel)


# ---- execution ----


class Obj:
    """A GraphQL object: typename, fields (value or callable(args) -> value), cost when returned."""

    __slots__ = ("typename", "fields", "cost", "interfaces")

    def __init__(self, typename, fields, cost=1, interfaces=("Node",)):
        self.typename = typename
        self.fields = fields
        self.cost = cost
        self.interfaces = interfaces


def resolve_vars(value, variables):
    if isinstance(value, Var):
        return variables.get(value.name)
    if isinstance(value, list):
        return [resolve_vars(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve_vars(v, variables) for k, v in value.items()}
    return value


def coerce_variables(op, given):
    """Checks required variables and applies defaults (types are not checked beyond nullness)."""
    given = given or {}
    if not isinstance(given, dict):
        raise GraphQLError("Variables must be an object", code="INVALID_VARIABLES")
    out = {}
    for name, typ, has_default, default in op.var_defs:
        if name in given and given[name] is not None:
            out[name] = given[name]
        elif has_default:
            out[name] = default
        elif typ.endswith("!"):
            raise GraphQLError(
                "Variable $%s of type %s was provided invalid value" % (name, typ),
                code="INVALID_VARIABLE",
                extra={"value": None, "problems": [{"path": [], "explanation": "Expected value to not be null"}]},
            )
        else:
            out[name] = None
    return out


class Executor:
    def __init__(self, fragments, variables, op_label):
        self.fragments = fragments
        self.variables = variables
        self.cost = 0
        self.op_label = op_label

    def included(self, directives):
        for name, args in directives or []:
            cond = bool(resolve_vars(args.get("if"), self.variables))
            if name == "skip" and cond:
                return False
            if name == "include" and not cond:
                return False
        return True

    def run(self, sel, obj, path):
        out = {}
        self._run_into(out, sel, obj, path)
        return out

    def _applies(self, type_cond, obj):
        return type_cond is None or type_cond == obj.typename or type_cond in obj.interfaces

    def _run_into(self, out, sel, obj, path):
        for s in sel:
            if isinstance(s, InlineFragment):
                if self.included(s.directives) and self._applies(s.type_cond, obj):
                    self._run_into(out, s.sel, obj, path)
                continue
            if isinstance(s, FragmentSpread):
                frag = self.fragments.get(s.name)
                if frag is None:
                    raise GraphQLError("Fragment %s was used, but not defined" % s.name, code="useAndDefineFragment")
                if self.included(s.directives) and self._applies(frag.type_cond, obj):
                    self._run_into(out, frag.sel, obj, path)
                continue
            if not self.included(s.directives):
                continue
            key = s.alias or s.name
            if s.name == "__typename":
                out[key] = obj.typename
                continue
            if s.name not in obj.fields:
                raise GraphQLError(
                    "Field '%s' doesn't exist on type '%s'" % (s.name, obj.typename),
                    code="undefinedField",
                    locations=[s.loc],
                    path=[self.op_label] + path + [key],
                    extra={"typeName": obj.typename, "fieldName": s.name},
                )
            v = obj.fields[s.name]
            if callable(v):
                v = v(resolve_vars(s.args, self.variables))
            val = self.complete(s, v, path + [key])
            if key in out and isinstance(out[key], dict) and isinstance(val, dict):
                out[key].update(val)
            else:
                out[key] = val
        return out

    def complete(self, field, v, path):
        if v is None:
            return None
        if isinstance(v, list):
            return [self.complete(field, x, path + [i]) for i, x in enumerate(v)]
        if isinstance(v, Obj):
            if not field.sel:
                raise GraphQLError(
                    "Field must have selections (field '%s' returns %s but has no selections)"
                    % (field.name, v.typename),
                    code="selectionMismatch",
                    locations=[field.loc],
                )
            self.cost += v.cost
            return self.run(field.sel, v, path)
        if field.sel:
            raise GraphQLError(
                "Selections can't be made on scalars (field '%s')" % field.name,
                code="selectionMismatch",
                locations=[field.loc],
            )
        return v
