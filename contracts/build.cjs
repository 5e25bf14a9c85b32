#!/usr/bin/env node
// Compile contracts/src/*.sol with the pinned solc-js (standard JSON) and write one artifact per
// contract to contracts/artifacts/<Name>.json (or --out DIR). Source unit names are relative
// ("src/X.sol", "@openzeppelin/..."), so the metadata and bytecode do not depend on the checkout path.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const CONTRACTS_DIR = __dirname;
const SRC_DIR = path.join(CONTRACTS_DIR, "src");
const NODE_MODULES = path.join(CONTRACTS_DIR, "node_modules");
const solc = require(path.join(NODE_MODULES, "solc"));

const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  metadata: { bytecodeHash: "ipfs", appendCBOR: true },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"] },
  },
};

function parseArgs(argv) {
  const args = { out: path.join(CONTRACTS_DIR, "artifacts") };
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--out" && i + 1 < argv.length) {
      args.out = path.resolve(argv[i + 1]);
      i += 1;
    } else {
      throw new Error(`usage: build-contracts [--out DIR] (unknown argument ${argv[i]})`);
    }
  }
  return args;
}

function readSources() {
  const sources = {};
  for (const file of fs.readdirSync(SRC_DIR).sort()) {
    if (file.endsWith(".sol")) {
      sources[`src/${file}`] = { content: fs.readFileSync(path.join(SRC_DIR, file), "utf8") };
    }
  }
  return sources;
}

function findImport(unitName) {
  const base = unitName.startsWith("@") ? NODE_MODULES : CONTRACTS_DIR;
  const resolved = path.resolve(base, unitName);
  if (!resolved.startsWith(base + path.sep)) {
    return { error: `import outside the toolchain: ${unitName}` };
  }
  try {
    return { contents: fs.readFileSync(resolved, "utf8") };
  } catch (err) {
    return { error: `cannot read ${unitName}: ${err.message}` };
  }
}

function compile() {
  const input = { language: "Solidity", sources: readSources(), settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const diagnostics = output.errors || [];
  for (const d of diagnostics) {
    process.stderr.write(d.formattedMessage || d.message);
  }
  if (diagnostics.some((d) => d.severity === "error")) {
    throw new Error("compilation failed");
  }
  return output;
}

function artifacts(output) {
  const result = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts || {}).sort()) {
    if (!sourceName.startsWith("src/")) continue;
    for (const [name, c] of Object.entries(contracts).sort()) {
      result.push({
        contractName: name,
        sourceName,
        compiler: { name: "solc", version: solc.version(), settings: SETTINGS },
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        metadata: c.metadata,
      });
    }
  }
  return result;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.out, { recursive: true });
  for (const artifact of artifacts(compile())) {
    const file = path.join(args.out, `${artifact.contractName}.json`);
    fs.writeFileSync(file, `${JSON.stringify(artifact, null, 2)}\n`);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}

main();
