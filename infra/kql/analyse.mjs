// Analyses KQL with Kusto.Language, the parser and semantic analyser behind the Azure portal's
// KQL editors, as shipped in the npm package @kusto/language-service-next (pinned in
// package-lock.json). Offline: no cluster or workspace is contacted.
//
// stdin: {"tables": [{"name": "T_CL", "columns": [["Col", "string"], ...]}, ...],
//         "queries": [{"name": "...", "text": "..."}, ...]}
// stdout: {"analyser": {"name": ..., "version": ...},
//          "results": [{"name", "diagnostics": [{"severity", "code", "message", "start", "length"}],
//                       "columns": [["Col", "type"], ...] | null}]}
// "columns" is the result schema of a tabular query, null otherwise. Every diagnostic is
// reported with its severity; the caller (tests/infra/kql.py) decides which ones fail.
// Exit status: 0 when it analysed every query (whatever the diagnostics), 2 on bad input.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const PACKAGE = "@kusto/language-service-next";
const require = createRequire(import.meta.url);

function fail(message) {
  process.stderr.write(`analyse.mjs: ${message}\n`);
  process.exit(2);
}

function loadKusto() {
  let manifest;
  try {
    manifest = require(`${PACKAGE}/package.json`);
  } catch {
    fail(`${PACKAGE} is not installed: run 'npm ci' (make does, from package-lock.json)`);
  }
  // The bridge runtime and the library are browser-style scripts that define globals.
  require(`${PACKAGE}/bridge.min.js`);
  require(`${PACKAGE}/Kusto.Language.Bridge.min.js`);
  return { kusto: globalThis.Kusto.Language, version: manifest.version };
}

function list(collection) {
  const items = [];
  for (let i = 0; i < collection.Count; i++) items.push(collection.getItem(i));
  return items;
}

function readInput() {
  let input;
  try {
    input = JSON.parse(readFileSync(0, "utf-8"));
  } catch (error) {
    fail(`stdin is not JSON: ${error.message}`);
  }
  if (!Array.isArray(input?.tables) || !Array.isArray(input?.queries)) {
    fail('stdin needs "tables" and "queries" arrays');
  }
  for (const table of input.tables) {
    if (typeof table?.name !== "string" || !Array.isArray(table?.columns)) {
      fail(`a table needs "name" and "columns": ${JSON.stringify(table)}`);
    }
    for (const column of table.columns) {
      if (!Array.isArray(column) || column.length !== 2 || !column.every((v) => typeof v === "string")) {
        fail(`${table.name}: a column is ["Name", "type"], not ${JSON.stringify(column)}`);
      }
    }
  }
  for (const query of input.queries) {
    if (typeof query?.name !== "string" || typeof query?.text !== "string") {
      fail(`a query needs "name" and "text" strings: ${JSON.stringify(query)}`);
    }
  }
  return input;
}

function globalsFor(kusto, tables) {
  const symbols = kusto.Symbols;
  const tableSymbols = tables.map((table) => {
    const schema = `(${table.columns.map(([name, type]) => `['${name}']:${type}`).join(", ")})`;
    return new symbols.TableSymbol.$ctor7(table.name, schema, null);
  });
  const database = new symbols.DatabaseSymbol.$ctor1("workspace", tableSymbols, false);
  // A column type the library does not know becomes the type "unknown": refuse it, by name.
  for (const [index, symbol] of tableSymbols.entries()) {
    list(symbol.Columns).forEach((column, position) => {
      if (column.Type.Name === "unknown") {
        const declared = tables[index].columns[position][1];
        fail(`${symbol.Name}.${column.Name}: KQL has no column type '${declared}'`);
      }
    });
  }
  return kusto.GlobalState.Default.WithDatabase(database);
}

function analyse(kusto, globals, query) {
  const code = kusto.KustoCode.ParseAndAnalyze(query.text, globals);
  const diagnostics = list(code.GetDiagnostics()).map((d) => ({
    severity: d.Severity,
    code: d.Code,
    message: d.Message,
    start: d.Start,
    length: d.Length,
  }));
  const result = code.ResultType;
  const columns =
    result && result.Columns ? list(result.Columns).map((c) => [c.Name, c.Type.Name]) : null;
  return { name: query.name, diagnostics, columns };
}

const input = readInput();
const { kusto, version } = loadKusto();
const globals = globalsFor(kusto, input.tables);
const results = input.queries.map((query) => analyse(kusto, globals, query));
process.stdout.write(JSON.stringify({ analyser: { name: PACKAGE, version }, results }));
