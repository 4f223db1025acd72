#!/usr/bin/env node
// Makes solcjs (the npm package `solc`, a WebAssembly build of the Solidity
// compiler) look like the native `solc` command line to forge.
//
// Why: forge cannot download a native solc on machines without internet, so
// anvil-scripts/bootstrap.sh installs solcjs and puts this wrapper behind
// `.tools/bin/solc`. Not for general use: it implements only what forge calls.
//
//   solc --version            answers in native solc's format
//   solc --standard-json ...  compiles the JSON on stdin in-process and prints
//                             pure JSON (no solcjs preamble); --base-path,
//                             --include-path and --allow-paths are honoured
//                             for the import callback
//   anything else             is handed to the solcjs CLI, without the flags
//                             it does not know (--allow-paths, --no-color, ...)
//
// The solc module is found through SOLCJS_MODULE (set by .tools/bin/solc),
// else through node's usual module resolution.
'use strict';

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function loadSolc() {
  const modulePath = process.env.SOLCJS_MODULE || 'solc';
  try {
    return { solc: require(modulePath), modulePath: require.resolve(modulePath) };
  } catch (err) {
    process.stderr.write(
      `solc wrapper: cannot load solcjs from ${modulePath}: ${err.message}\n` +
        'run anvil-scripts/bootstrap.sh to install it\n',
    );
    process.exit(2);
  }
}

// "0.8.30+commit.73712a01.Emscripten.clang" -> "0.8.30+commit.73712a01.Linux.g++"
function nativeVersionString(solc) {
  const v = solc.version();
  const m = /^(\d+\.\d+\.\d+(?:-[^+]+)?\+commit\.[0-9a-f]+)/.exec(v);
  return `${m ? m[1] : v}.Linux.g++`;
}

// Flags that take a value, split into "--flag value" or written "--flag=value".
function takeFlag(args, name) {
  const values = [];
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === name) {
      if (i + 1 < args.length) values.push(args[++i]);
    } else if (a.startsWith(name + '=')) {
      values.push(a.slice(name.length + 1));
    } else {
      rest.push(a);
    }
  }
  return { values, rest };
}

function splitPaths(list) {
  return list.flatMap((v) => v.split(',')).filter((v) => v.length > 0);
}

function standardJson(solc, args) {
  const base = takeFlag(args, '--base-path');
  const include = takeFlag(base.rest, '--include-path');
  const allow = takeFlag(include.rest, '--allow-paths');
  const basePath = base.values.length ? path.resolve(base.values[base.values.length - 1]) : process.cwd();
  const roots = [basePath, ...splitPaths(include.values).map((p) => path.resolve(p))];
  const allowed = [...roots, ...splitPaths(allow.values).map((p) => path.resolve(p))];

  const isAllowed = (file) => allowed.some((root) => file === root || file.startsWith(root + path.sep));

  // Forge sends every source's content, so this callback is a fallback for
  // other callers of the wrapper.
  function findImports(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const file of candidates) {
      const resolved = path.resolve(file);
      if (!isAllowed(resolved)) continue;
      try {
        return { contents: fs.readFileSync(resolved, 'utf8') };
      } catch (_) {
        // try the next root
      }
    }
    return { error: `File not found: ${importPath}` };
  }

  const input = fs.readFileSync(0, 'utf8');
  const output = solc.compile(input, { import: findImports });
  // A reader that stops early (| head) is not an error of the compiler.
  process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
  process.stdout.write(output + '\n');
}

// Flags of native solc that solcjs's CLI rejects; the ones with a value drop it too.
const DROP_WITH_VALUE = ['--allow-paths', '--error-codes-format', '--stop-after', '--model-checker-engine'];
const DROP_ALONE = ['--no-color', '--color', '--error-codes', '--ignore-missing'];

function passThrough(solcModulePath, args) {
  const filtered = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (DROP_WITH_VALUE.includes(a)) {
      i++;
      continue;
    }
    if (DROP_WITH_VALUE.some((f) => a.startsWith(f + '='))) continue;
    if (DROP_ALONE.includes(a)) continue;
    filtered.push(a);
  }
  const cli = path.join(path.dirname(solcModulePath), 'solc.js');
  const res = spawnSync(process.execPath, [cli, ...filtered], { stdio: 'inherit' });
  process.exit(res.status === null ? 1 : res.status);
}

function main() {
  const args = process.argv.slice(2);
  const { solc, modulePath } = loadSolc();
  if (args.includes('--version') || args.includes('-v')) {
    process.stdout.write(
      `solc, the solidity compiler commandline interface\nVersion: ${nativeVersionString(solc)}\n`,
    );
    return;
  }
  if (args.includes('--standard-json')) {
    standardJson(
      solc,
      args.filter((a) => a !== '--standard-json'),
    );
    return;
  }
  passThrough(modulePath, args);
}

main();
