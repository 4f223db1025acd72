// Regenerates the test contracts' artifacts (ABI + creation and runtime bytecode) with solcjs:
// erc20.json from TestToken.sol, amm.json from TestPair.sol, proxy.json from TestProxy.sol,
// factory.json from TestFactory.sol (which imports TestToken.sol).
// Usage: node compile.mjs        (run from anywhere; needs `npm ci` done here)
// Offline: the solc npm package ships the compiler (soljson.js) itself.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const here = dirname(fileURLToPath(import.meta.url))
const EVM_VERSION = 'cancun'
const ARTIFACTS = [
  { source: 'TestToken.sol', contract: 'TestToken', out: 'erc20.json' },
  { source: 'TestPair.sol', contract: 'TestPair', out: 'amm.json' },
  { source: 'TestProxy.sol', contract: 'TestProxy', out: 'proxy.json' },
  { source: 'TestFactory.sol', contract: 'TestFactory', out: 'factory.json', imports: ['TestToken.sol'] },
]

// Each source is compiled on its own, with the same settings, so that one artifact does not
// change when another source does.
for (const { source, contract, out, imports = [] } of ARTIFACTS) {
  const sources = {}
  for (const file of [source, ...imports]) sources[file] = { content: readFileSync(join(here, file), 'utf8') }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: EVM_VERSION,
      outputSelection: { [source]: { [contract]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }

  const output = JSON.parse(solc.compile(JSON.stringify(input)))
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  for (const e of output.errors ?? []) console.error(e.formattedMessage)
  if (errors.length > 0) process.exit(1)

  const c = output.contracts[source][contract]
  const artifact = {
    contractName: contract,
    source,
    compiler: `solc ${solc.version()}`,
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  }
  writeFileSync(join(here, out), `${JSON.stringify(artifact, null, 2)}\n`)
  console.log(`wrote ${out} (${contract}, ${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes initcode)`)
}
