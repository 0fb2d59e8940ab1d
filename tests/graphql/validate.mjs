// Validates every Admin GraphQL document the server sends (server/shopify/graphql/*.graphql)
// against Shopify's Admin schema (introspection result in tests/fixtures/shopify/, API 2025-01:
// the newest schema available offline; the server's default API version is 2026-01).
//
// Checks per file: it parses; it holds exactly one operation, named like the file; graphql-js
// validate() reports no error; its estimated requested cost (Shopify's rules: object 1,
// scalar/enum 0, connection 2 + first x item, mutation 10, union/interface = max of the
// alternatives) stays within Shopify's single-query limit of 1000. Deprecated fields are printed
// as warnings. Fails on any error and on an empty directory.
//
// Usage: node tests/graphql/validate.mjs [DOCS_DIR] [SCHEMA_JSON_GZ]
// Needs the npm package graphql: npm ci --prefix tests
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const docsDir = resolve(process.argv[2] || join(root, 'server', 'shopify', 'graphql'));
const schemaFile = resolve(
  process.argv[3] || join(root, 'tests', 'fixtures', 'shopify', 'shopify-dev-mcp_admin_schema_2025-01.json.gz'));
const MAX_COST = 1000;

const require = createRequire(join(root, 'tests', 'package.json'));
let graphql;
try {
  graphql = require('graphql');
} catch (e) {
  console.error('graphql_validate: the npm package "graphql" is missing in tests/node_modules; ' +
    'run: npm ci --prefix tests');
  process.exit(2);
}
const { buildClientSchema, parse, validate, Kind, specifiedRules, NoDeprecatedCustomRule } = graphql;

// Estimated requested cost of an operation, after Shopify's published rules. Shared algorithm
// with the simulator (tests/shopify-sim/simulator.py, estimate_cost).
function estimateCost(op, fragments) {
  const selCost = (sel) => {
    if (!sel) return 0;
    let sum = 0;
    let alt = 0;
    for (const s of sel.selections) {
      if (s.kind === Kind.FIELD) sum += fieldCost(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) alt = Math.max(alt, selCost(s.selectionSet));
      else if (s.kind === Kind.FRAGMENT_SPREAD) alt = Math.max(alt, selCost(fragments[s.name.value]?.selectionSet));
    }
    return sum + alt;
  };
  const pageSize = (f) => {
    for (const a of f.arguments || []) {
      if (a.name.value === 'first' || a.name.value === 'last') {
        return a.value.kind === Kind.INT ? parseInt(a.value.value, 10) : 250;
      }
    }
    return null;
  };
  const itemCost = (conn) => {
    let c = 0;
    for (const s of conn.selectionSet.selections) {
      if (s.kind !== Kind.FIELD) continue;
      if (s.name.value === 'nodes') c = Math.max(c, 1 + selCost(s.selectionSet));
      else if (s.name.value === 'edges') {
        for (const e of s.selectionSet.selections) {
          if (e.kind === Kind.FIELD && e.name.value === 'node') c = Math.max(c, 1 + selCost(e.selectionSet));
        }
      }
    }
    return c;
  };
  const fieldCost = (f) => {
    if (!f.selectionSet) return 0;
    const n = pageSize(f);
    if (n !== null) return 2 + n * itemCost(f);
    return 1 + selCost(f.selectionSet);
  };
  if (op.operation === 'mutation') {
    let c = 0;
    for (const s of op.selectionSet.selections) {
      if (s.kind === Kind.FIELD) c += 10 + selCost(s.selectionSet);
    }
    return c;
  }
  return selCost(op.selectionSet);
}

function loadSchema() {
  let json = JSON.parse(gunzipSync(readFileSync(schemaFile)).toString('utf8'));
  if (json && json.data && json.data.__schema) json = json.data;
  if (!json || !json.__schema) throw new Error(`${schemaFile}: no __schema in the introspection JSON`);
  return buildClientSchema(json);
}

let failures = 0;
const fail = (msg) => {
  failures++;
  console.error(`FAIL ${msg}`);
};

if (!existsSync(docsDir)) {
  console.error(`graphql_validate: ${docsDir} does not exist`);
  process.exit(1);
}
const files = readdirSync(docsDir).filter((f) => f.endsWith('.graphql')).sort();
if (files.length === 0) {
  console.error(`graphql_validate: no .graphql files in ${docsDir}`);
  process.exit(1);
}

const schema = loadSchema();
for (const file of files) {
  const path = join(docsDir, file);
  const text = readFileSync(path, 'utf8');
  let doc;
  try {
    doc = parse(text);
  } catch (e) {
    fail(`${file}: ${e.message}`);
    continue;
  }
  const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = Object.fromEntries(
    doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const want = basename(file, '.graphql');
  if (ops.length !== 1) {
    fail(`${file}: ${ops.length} operations; exactly one per file`);
    continue;
  }
  const op = ops[0];
  if (!op.name || op.name.value !== want) {
    fail(`${file}: operation is named ${op.name ? op.name.value : '(anonymous)'}, must be ${want}`);
    continue;
  }
  const errors = validate(schema, doc, specifiedRules);
  for (const e of errors) {
    const loc = e.locations && e.locations[0] ? `:${e.locations[0].line}:${e.locations[0].column}` : '';
    fail(`${file}${loc}: ${e.message}`);
  }
  if (errors.length) continue;
  for (const w of validate(schema, doc, [NoDeprecatedCustomRule])) {
    console.log(`warn ${file}: ${w.message}`);
  }
  const cost = estimateCost(op, fragments);
  if (cost > MAX_COST) {
    fail(`${file}: estimated requested cost ${cost} exceeds Shopify's single-query maximum ${MAX_COST}`);
    continue;
  }
  // The client's cost bucket reserves the declared cost before the first answer tells it the
  // real one (server/shopify/client.c), so the declaration must match the estimate.
  const declared = /^#\s*cost:\s*(\d+)/m.exec(text);
  if (!declared) {
    fail(`${file}: no "# cost: N" line (its estimated requested cost is ${cost})`);
    continue;
  }
  if (Number(declared[1]) !== cost) {
    fail(`${file}: declares cost ${declared[1]}, but its estimated requested cost is ${cost}`);
    continue;
  }
  const vars = (op.variableDefinitions || []).map((v) => '$' + v.variable.name.value).join(', ');
  console.log(`ok   ${file}: ${op.operation} ${want}(${vars}) cost<=${cost}`);
}

console.log(`${files.length} documents, ${failures} failures (schema ${basename(schemaFile)})`);
process.exit(failures ? 1 : 0);
