#!/usr/bin/env node
// Real-client check of an eth_ JSON-RPC node with viem (HTTP + WebSocket).
//
// Usage: node viem_erc20.mjs <http_rpc_url> <ws_rpc_url> <private_key_hex>
//
// The key's account must hold some ETH (about 0.1 ETH is plenty). The script
// deploys TestToken (erc20.json, built from TestToken.sol by compile.mjs),
// transfers to three fresh addresses, checks receipts, balances, logs
// (eth_getLogs), WebSocket subscriptions (logs + newHeads), a plain ETH
// transfer, gas estimation, JSON-RPC batching and revert reasons.
//
// Every wait is bounded. Progress goes to stdout as "ok - ..." / "not ok - ..."
// lines; the last line of stdout is always a one-line JSON summary
// ({"ok":true|false,...}). Exit code 0 on success, 1 on any failure.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAbiItem,
  http,
  parseEther,
  parseUnits,
  webSocket,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'

const TIMEOUT_MS = Number(process.env.CLIENT_TEST_TIMEOUT_MS ?? 30_000)
const GLOBAL_TIMEOUT_MS = Number(process.env.CLIENT_TEST_GLOBAL_TIMEOUT_MS ?? 240_000)
const POLL_MS = 200

const started = Date.now()
const results = [] // { name, ok, detail }
const summary = { ok: false, client: 'viem', checks: 0, failed: [] }

function finish(code) {
  summary.ok = code === 0
  summary.checks = results.length
  summary.failed = results.filter((r) => !r.ok).map((r) => r.name)
  summary.durationMs = Date.now() - started
  console.log(JSON.stringify(summary, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  process.exit(code)
}

function pass(name, detail = '') {
  results.push({ name, ok: true })
  console.log(`ok - ${name}${detail ? `: ${detail}` : ''}`)
}

class CheckFailed extends Error {}

function fail(name, detail) {
  results.push({ name, ok: false })
  console.log(`not ok - ${name}: ${detail}`)
  throw new CheckFailed(`${name}: ${detail}`)
}

function check(name, cond, detail = '') {
  if (cond) pass(name, detail)
  else fail(name, detail || 'condition false')
}

function eq(name, actual, expected) {
  const a = typeof actual === 'string' ? actual.toLowerCase() : actual
  const e = typeof expected === 'string' ? expected.toLowerCase() : expected
  const short = (v) => (String(v).length > 80 ? `${String(v).slice(0, 40)}...(${String(v).length} chars)` : String(v))
  if (a === e) pass(name, short(actual))
  else fail(name, `expected ${short(expected)}, got ${short(actual)}`)
}

function withTimeout(promise, label, ms = TIMEOUT_MS) {
  let timer
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms)
  })
  return Promise.race([promise, t]).finally(() => clearTimeout(timer))
}

async function waitFor(label, predicate, ms = TIMEOUT_MS) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await predicate()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// Walks a viem error chain and returns the revert reason, if any.
function revertReason(err) {
  if (!(err instanceof BaseError)) return undefined
  const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError) {
    return reverted.reason ?? reverted.data?.args?.[0]
  }
  return undefined
}

async function main() {
  const [httpUrl, wsUrl, keyArg] = process.argv.slice(2)
  if (!httpUrl || !wsUrl || !keyArg) {
    console.error('usage: node viem_erc20.mjs <http_rpc_url> <ws_rpc_url> <private_key_hex>')
    process.exit(2)
  }
  const privateKey = keyArg.startsWith('0x') ? keyArg : `0x${keyArg}`
  const here = dirname(fileURLToPath(import.meta.url))
  const { abi, bytecode, deployedBytecode } = JSON.parse(readFileSync(join(here, 'erc20.json'), 'utf8'))
  const transferEvent = getAbiItem({ abi, name: 'Transfer' })

  const globalTimer = setTimeout(() => {
    results.push({ name: 'global timeout', ok: false })
    console.log(`not ok - global timeout: script did not finish in ${GLOBAL_TIMEOUT_MS} ms`)
    finish(1)
  }, GLOBAL_TIMEOUT_MS)

  // --- chain id, from the node itself -------------------------------------
  const probe = createPublicClient({ transport: http(httpUrl, { timeout: TIMEOUT_MS, retryCount: 0 }) })
  const chainId = await withTimeout(probe.getChainId(), 'eth_chainId (http)')
  check('eth_chainId over HTTP', Number.isInteger(chainId) && chainId > 0, String(chainId))
  summary.chainId = chainId

  const chain = defineChain({
    id: chainId,
    name: `node-under-test-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [httpUrl], webSocket: [wsUrl] } },
  })
  const httpTransport = http(httpUrl, { timeout: TIMEOUT_MS, retryCount: 0 })
  const publicClient = createPublicClient({ chain, transport: httpTransport, pollingInterval: POLL_MS })
  const batchClient = createPublicClient({
    chain,
    transport: http(httpUrl, { timeout: TIMEOUT_MS, retryCount: 0, batch: { batchSize: 10, wait: 20 } }),
  })
  const wsClient = createPublicClient({
    chain,
    transport: webSocket(wsUrl, { timeout: TIMEOUT_MS, retryCount: 0, reconnect: false }),
    pollingInterval: POLL_MS,
  })
  const account = privateKeyToAccount(privateKey)
  const wallet = createWalletClient({ account, chain, transport: httpTransport, pollingInterval: POLL_MS })
  const deployer = account.address
  summary.deployer = deployer

  const wsChainId = await withTimeout(wsClient.getChainId(), 'eth_chainId (ws)')
  eq('eth_chainId over WebSocket matches HTTP', wsChainId, chainId)

  const startBalance = await withTimeout(publicClient.getBalance({ address: deployer }), 'eth_getBalance')
  check('deployer has ETH', startBalance >= parseEther('0.05'), `${startBalance} wei`)

  const receiptOf = (hash, label) =>
    withTimeout(
      publicClient.waitForTransactionReceipt({ hash, timeout: TIMEOUT_MS, pollingInterval: POLL_MS }),
      `receipt of ${label}`,
      TIMEOUT_MS + 5_000,
    )

  // --- deploy --------------------------------------------------------------
  const supply = parseUnits('1000000', 18)
  const deployHash = await withTimeout(
    wallet.deployContract({ abi, bytecode, args: ['Test Token', 'TST', supply] }),
    'deployContract',
  )
  const deployReceipt = await receiptOf(deployHash, 'deploy')
  eq('deploy receipt status', deployReceipt.status, 'success')
  const token = deployReceipt.contractAddress
  check('deploy receipt has contractAddress', typeof token === 'string' && token.length === 42, token)
  summary.token = token
  eq('deploy receipt has the mint Transfer log', deployReceipt.logs.length, 1)
  const code = await withTimeout(publicClient.getCode({ address: token }), 'eth_getCode')
  eq('eth_getCode returns the deployed runtime bytecode', code, deployedBytecode)

  const tx = await withTimeout(publicClient.getTransaction({ hash: deployHash }), 'eth_getTransactionByHash')
  check(
    'eth_getTransactionByHash of the deploy',
    tx.hash === deployHash && tx.from.toLowerCase() === deployer.toLowerCase() && tx.to === null &&
      tx.blockNumber === deployReceipt.blockNumber,
    `block ${tx.blockNumber}`,
  )

  const read = (functionName, args = []) =>
    withTimeout(publicClient.readContract({ address: token, abi, functionName, args }), `eth_call ${functionName}`)
  eq('name()', await read('name'), 'Test Token')
  eq('symbol()', await read('symbol'), 'TST')
  eq('decimals()', await read('decimals'), 18)
  eq('totalSupply()', await read('totalSupply'), supply)
  eq('balanceOf(deployer) is the initial supply', await read('balanceOf', [deployer]), supply)

  // --- gas estimation ------------------------------------------------------
  const recipients = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()).address)
  summary.recipients = recipients
  const gasTransfer = await withTimeout(
    publicClient.estimateContractGas({ address: token, abi, functionName: 'transfer', args: [recipients[0], 1n], account }),
    'eth_estimateGas transfer',
  )
  check('eth_estimateGas for ERC-20 transfer', gasTransfer > 21_000n && gasTransfer < 200_000n, String(gasTransfer))
  const gasEth = await withTimeout(
    publicClient.estimateGas({ account, to: recipients[0], value: 1n }),
    'eth_estimateGas eth transfer',
  )
  eq('eth_estimateGas for a plain ETH transfer', gasEth, 21_000n)

  // --- JSON-RPC batch (ethers v6 batches by default) -----------------------
  const [bn, bcid, bbal] = await withTimeout(
    Promise.all([
      batchClient.getBlockNumber({ cacheTime: 0 }),
      batchClient.getChainId(),
      batchClient.readContract({ address: token, abi, functionName: 'balanceOf', args: [deployer] }),
    ]),
    'batched JSON-RPC request',
  )
  check('JSON-RPC batch request', bn >= deployReceipt.blockNumber && bcid === chainId && bbal === supply, `block ${bn}`)

  // --- WebSocket subscriptions (logs + newHeads), set up before the transfers
  const wsLogs = []
  const wsBlocks = []
  const wsErrors = []
  const unwatchLogs = wsClient.watchContractEvent({
    address: token,
    abi,
    eventName: 'Transfer',
    poll: false,
    onLogs: (logs) => wsLogs.push(...logs),
    onError: (e) => wsErrors.push(`logs: ${e.shortMessage ?? e.message}`),
  })
  const unwatchBlocks = wsClient.watchBlocks({
    poll: false,
    onBlock: (block) => wsBlocks.push(block),
    onError: (e) => wsErrors.push(`newHeads: ${e.shortMessage ?? e.message}`),
  })
  const wsRpc = await wsClient.transport.getRpcClient()
  await waitFor('both eth_subscribe calls to be acknowledged', () => {
    if (wsErrors.length) throw new Error(`eth_subscribe failed: ${wsErrors.join('; ')}`)
    return wsRpc.subscriptions.size >= 2
  })
  pass('eth_subscribe logs + newHeads acknowledged over WebSocket', `${wsRpc.subscriptions.size} subscriptions`)

  // --- three ERC-20 transfers, sent back to back (viem takes each nonce from
  // eth_getTransactionCount(addr, "pending"), so the node must count pooled txs)
  const amounts = [parseUnits('100', 18), parseUnits('250', 18), parseUnits('7', 18)]
  const hashes = []
  for (let i = 0; i < 3; i++) {
    hashes.push(
      await withTimeout(
        wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [recipients[i], amounts[i]] }),
        `transfer ${i}`,
      ),
    )
  }
  check('three transfers sent with distinct hashes', new Set(hashes).size === 3, hashes.join(','))
  const receipts = []
  for (let i = 0; i < 3; i++) receipts.push(await receiptOf(hashes[i], `transfer ${i}`))
  receipts.forEach((r, i) => eq(`transfer ${i} receipt status`, r.status, 'success'))
  receipts.forEach((r, i) => {
    check(
      `transfer ${i} receipt fields`,
      r.transactionHash === hashes[i] && r.logs.length === 1 && r.gasUsed > 21_000n && r.effectiveGasPrice > 0n &&
        r.from.toLowerCase() === deployer.toLowerCase() && r.to.toLowerCase() === token.toLowerCase(),
      `block ${r.blockNumber}, gasUsed ${r.gasUsed}`,
    )
  })
  const nonces = await Promise.all(hashes.map((hash) => publicClient.getTransaction({ hash }).then((t) => t.nonce)))
  check('transfers used consecutive nonces', nonces[1] === nonces[0] + 1 && nonces[2] === nonces[1] + 1, nonces.join(','))

  // --- balances ------------------------------------------------------------
  for (let i = 0; i < 3; i++) eq(`balanceOf(recipient ${i})`, await read('balanceOf', [recipients[i]]), amounts[i])
  const sent = amounts.reduce((a, b) => a + b, 0n)
  eq('balanceOf(deployer) after transfers', await read('balanceOf', [deployer]), supply - sent)

  // --- eth_getLogs ---------------------------------------------------------
  const fromBlock = deployReceipt.blockNumber
  const toBlock = receipts.reduce((m, r) => (r.blockNumber > m ? r.blockNumber : m), 0n)
  const byFrom = await withTimeout(
    publicClient.getLogs({ address: token, event: transferEvent, args: { from: deployer }, fromBlock, toBlock }),
    'eth_getLogs (address + topics)',
  )
  eq('eth_getLogs address+Transfer+from filter count', byFrom.length, 3)
  byFrom.forEach((log, i) => {
    const r = receipts.find((x) => x.transactionHash === log.transactionHash)
    check(
      `eth_getLogs log ${i} matches its receipt`,
      r !== undefined && log.blockNumber === r.blockNumber && log.blockHash === r.blockHash &&
        log.logIndex === r.logs[0].logIndex && log.transactionIndex === r.transactionIndex &&
        log.args.to.toLowerCase() === recipients[hashes.indexOf(log.transactionHash)].toLowerCase() &&
        log.args.value === amounts[hashes.indexOf(log.transactionHash)],
      `${log.transactionHash} block ${log.blockNumber} index ${log.logIndex}`,
    )
  })
  const all = await withTimeout(
    publicClient.getLogs({ address: token, event: transferEvent, fromBlock, toBlock }),
    'eth_getLogs (Transfer topic)',
  )
  eq('eth_getLogs Transfer count including the mint', all.length, 4)
  eq('first Transfer log is the mint from 0x0', all[0].args.from, '0x0000000000000000000000000000000000000000')
  const toOne = await withTimeout(
    publicClient.getLogs({ address: token, event: transferEvent, args: { to: recipients[1] }, fromBlock, toBlock }),
    'eth_getLogs (second indexed topic)',
  )
  check('eth_getLogs filter on the 2nd indexed topic', toOne.length === 1 && toOne[0].transactionHash === hashes[1])
  const nothing = await withTimeout(
    publicClient.getLogs({ address: token, event: transferEvent, fromBlock: 0n, toBlock: fromBlock - 1n }),
    'eth_getLogs (empty range)',
  )
  eq('eth_getLogs over blocks before the deploy is empty', nothing.length, 0)

  // --- the WebSocket saw the transfers sent after subscribing ---------------
  await waitFor('all 3 Transfer logs over WebSocket', () => hashes.every((h) => wsLogs.some((l) => l.transactionHash === h)))
  const wsLog = wsLogs.find((l) => l.transactionHash === hashes[0])
  check(
    'WebSocket logs subscription delivered the transfers',
    wsLog.args.to.toLowerCase() === recipients[0].toLowerCase() && wsLog.args.value === amounts[0] &&
      wsLog.blockHash === receipts[0].blockHash && wsLog.logIndex === receipts[0].logs[0].logIndex,
    `${wsLogs.length} logs`,
  )

  // --- plain ETH transfer (sent after subscribing, so a new head must follow)
  const value = parseEther('0.01')
  const ethTo = recipients[0]
  const before = await publicClient.getBalance({ address: deployer })
  const toBefore = await publicClient.getBalance({ address: ethTo })
  eq('fresh recipient starts with 0 ETH', toBefore, 0n)
  const ethHash = await withTimeout(wallet.sendTransaction({ to: ethTo, value }), 'sendTransaction')
  const ethReceipt = await receiptOf(ethHash, 'ETH transfer')
  eq('ETH transfer receipt status', ethReceipt.status, 'success')
  eq('ETH transfer gasUsed', ethReceipt.gasUsed, 21_000n)
  eq('recipient ETH balance increased by value', await publicClient.getBalance({ address: ethTo }), value)
  const after = await publicClient.getBalance({ address: deployer })
  eq('sender ETH balance decreased by value + gasUsed*effectiveGasPrice', before - after,
    value + ethReceipt.gasUsed * ethReceipt.effectiveGasPrice)

  await waitFor('a new head over WebSocket at or after the ETH transfer block', () =>
    wsBlocks.some((b) => b.number >= ethReceipt.blockNumber))
  const head = wsBlocks.find((b) => b.number === ethReceipt.blockNumber) ?? wsBlocks.find((b) => b.number > ethReceipt.blockNumber)
  const full = await withTimeout(publicClient.getBlock({ blockNumber: head.number }), 'eth_getBlockByNumber')
  check(
    'WebSocket newHeads block matches eth_getBlockByNumber',
    head.hash === full.hash && head.parentHash === full.parentHash && head.stateRoot === full.stateRoot,
    `${wsBlocks.length} heads, block ${head.number} ${head.hash}`,
  )
  const byHash = await withTimeout(
    publicClient.getBlock({ blockHash: ethReceipt.blockHash, includeTransactions: true }),
    'eth_getBlockByHash',
  )
  check(
    'eth_getBlockByHash(full txs) contains the ETH transfer',
    byHash.number === ethReceipt.blockNumber && byHash.transactions.some((t) => t.hash === ethHash),
    `${byHash.transactions.length} txs`,
  )
  if (wsErrors.length) fail('no WebSocket subscription errors', wsErrors.join('; '))
  unwatchLogs()
  unwatchBlocks()

  // --- revert reasons ------------------------------------------------------
  const tooMuch = supply + 1n
  try {
    await withTimeout(
      publicClient.simulateContract({ address: token, abi, functionName: 'transfer', args: [recipients[2], tooMuch], account }),
      'eth_call reverting transfer',
    )
    fail('eth_call revert reason', 'transfer of more than the balance did not revert')
  } catch (e) {
    if (e instanceof CheckFailed) throw e
    eq('eth_call revert reason surfaced by viem', revertReason(e), 'insufficient balance')
  }
  try {
    await withTimeout(
      publicClient.estimateContractGas({ address: token, abi, functionName: 'transfer', args: [recipients[2], tooMuch], account }),
      'eth_estimateGas reverting transfer',
    )
    fail('eth_estimateGas revert reason', 'estimate of a reverting transfer succeeded')
  } catch (e) {
    if (e instanceof CheckFailed) throw e
    eq('eth_estimateGas revert reason surfaced by viem', revertReason(e), 'insufficient balance')
  }
  try {
    await withTimeout(
      wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [recipients[2], tooMuch] }),
      'writeContract reverting transfer',
    )
    fail('writeContract revert reason', 'writeContract of a reverting transfer was sent')
  } catch (e) {
    if (e instanceof CheckFailed) throw e
    eq('writeContract revert reason surfaced by viem', revertReason(e), 'insufficient balance')
  }
  // A reverting tx sent anyway (explicit gas, so no estimate) is mined with status 0.
  const badHash = await withTimeout(
    wallet.writeContract({ address: token, abi, functionName: 'transfer', args: [recipients[2], tooMuch], gas: 100_000n }),
    'send reverting transfer with explicit gas',
  )
  const badReceipt = await receiptOf(badHash, 'reverting transfer')
  eq('reverting tx is mined with status reverted', badReceipt.status, 'reverted')
  eq('reverting tx has no logs', badReceipt.logs.length, 0)
  eq('reverting tx left the balance alone', await read('balanceOf', [recipients[2]]), amounts[2])

  clearTimeout(globalTimer)
  try {
    wsRpc.close()
  } catch {}
  finish(0)
}

main().catch((e) => {
  if (!(e instanceof CheckFailed)) {
    const msg = e instanceof BaseError ? e.shortMessage + (e.details ? ` (${e.details})` : '') : String(e?.message ?? e)
    console.error(e?.stack ?? e)
    results.push({ name: 'unexpected error', ok: false })
    console.log(`not ok - unexpected error: ${msg}`)
    summary.error = msg
  } else {
    summary.error = e.message
  }
  finish(1)
})
