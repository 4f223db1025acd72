// Regenerates erc20.json (ABI + creation bytecode) from TestToken.sol with solcjs.
// Usage: node compile.mjs        (run from anywhere; needs `npm ci` done here)
// Offline: the solc npm package ships the compiler (soljson.js) itself.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const here = dirname(fileURLToPath(import.meta.url))
const SOURCE = 'TestToken.sol'
const CONTRACT = 'TestToken'
const EVM_VERSION = 'cancun'

const input = {
  language: 'Solidity',
  sources: { [SOURCE]: { content: readFileSync(join(here, SOURCE), 'utf8') } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: EVM_VERSION,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
}

const output = JSON.parse(solc.compile(JSON.stringify(input)))
const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
for (const e of output.errors ?? []) console.error(e.formattedMessage)
if (errors.length > 0) process.exit(1)

const c = output.contracts[SOURCE][CONTRACT]
const artifact = {
  contractName: CONTRACT,
  source: SOURCE,
  compiler: `solc ${solc.version()}`,
  evmVersion: EVM_VERSION,
  optimizer: { enabled: true, runs: 200 },
  abi: c.abi,
  bytecode: `0x${c.evm.bytecode.object}`,
  deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
}
writeFileSync(join(here, 'erc20.json'), `${JSON.stringify(artifact, null, 2)}\n`)
console.log(`wrote erc20.json (${CONTRACT}, ${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes initcode)`)
