#!/usr/bin/env node
// A tiny logging JSON-RPC proxy (HTTP + WebSocket on one port), for finding out
// which eth_ methods a client really calls.
//
// Usage: node rpc_log_proxy.mjs <listen_port> <upstream_http_url> <log_file.jsonl> [--deny=m1,m2]
//   --deny answers those methods itself with -32601 "method not found", as a node
//   that lacks them would (e.g. --deny=eth_fillTransaction, which viem tries first).
//   e.g. node rpc_log_proxy.mjs 8600 http://127.0.0.1:8599 /tmp/viem.jsonl
// Then point the client at http://127.0.0.1:8600 (ws://127.0.0.1:8600 for WS).
// Each request (and each error response) is one JSON line in the log file:
//   {"via":"http"|"http-batch"|"ws","method":"eth_call","params":[...]}
//   {"via":"...","error":{"code":3,"message":"..."},"method":"eth_call"}
// Summarise: node rpc_log_proxy.mjs --summary <log_file.jsonl>
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'

if (process.argv[2] === '--summary') {
  const counts = new Map()
  const errors = []
  for (const line of readFileSync(process.argv[3], 'utf8').split('\n')) {
    if (!line.trim()) continue
    const e = JSON.parse(line)
    if (e.error) {
      errors.push(`${e.via} ${e.method}: ${e.error.code} ${e.error.message}`)
      continue
    }
    const key = `${e.via} ${e.method}${e.method === 'eth_subscribe' ? `(${e.params?.[0]})` : ''}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  for (const [k, n] of [...counts].sort()) console.log(`${String(n).padStart(5)}  ${k}`)
  for (const e of errors) console.log(`error  ${e}`)
  process.exit(0)
}

const denyArg = process.argv.find((a) => a.startsWith('--deny='))
const deny = new Set(denyArg ? denyArg.slice('--deny='.length).split(',').filter(Boolean) : [])
const [port, upstream, logFile] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const notFound = (r) => ({
  jsonrpc: '2.0',
  id: r.id,
  error: { code: -32601, message: `the method ${r.method} does not exist/is not available` },
})

// Splits a request text into what goes upstream and what is denied here.
// Returns { forward: string|null, denied: [responses], isBatch }.
function splitDenied(text) {
  let body
  try {
    body = JSON.parse(text)
  } catch {
    return { forward: text, denied: [], isBatch: false }
  }
  const isBatch = Array.isArray(body)
  const list = isBatch ? body : [body]
  const keep = list.filter((r) => !deny.has(r?.method))
  const denied = list.filter((r) => deny.has(r?.method)).map(notFound)
  const forward = keep.length === 0 ? null : JSON.stringify(isBatch ? keep : keep[0])
  return { forward, denied, isBatch }
}
if (!port || !upstream || !logFile) {
  console.error('usage: node rpc_log_proxy.mjs <listen_port> <upstream_http_url> <log_file.jsonl>')
  process.exit(2)
}
writeFileSync(logFile, '')
const log = (o) => appendFileSync(logFile, `${JSON.stringify(o)}\n`)
const upstreamWs = upstream.replace(/^http/, 'ws')

function logRequests(via, text) {
  const ids = new Map()
  try {
    const body = JSON.parse(text)
    const list = Array.isArray(body) ? body : [body]
    for (const r of list) {
      log({ via: Array.isArray(body) ? `${via}-batch` : via, method: r.method, params: r.params })
      ids.set(r.id, r.method)
    }
  } catch {
    log({ via, method: '<unparseable>', raw: text.slice(0, 200) })
  }
  return ids
}

function logErrors(via, text, ids) {
  try {
    const body = JSON.parse(text)
    for (const r of Array.isArray(body) ? body : [body]) {
      if (r && r.error) log({ via, method: ids.get(r.id) ?? '?', error: r.error })
    }
  } catch {}
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', async () => {
    const text = Buffer.concat(chunks).toString('utf8')
    const ids = req.method === 'POST' ? logRequests('http', text) : new Map()
    try {
      const { forward, denied, isBatch } = req.method === 'POST' ? splitDenied(text) : { forward: null, denied: [] }
      let status = 200
      let out = ''
      if (forward !== null || req.method !== 'POST') {
        const r = await fetch(upstream, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: req.method === 'POST' ? forward : undefined,
        })
        status = r.status
        out = await r.text()
      }
      if (denied.length > 0) {
        out = isBatch
          ? JSON.stringify([...(out ? JSON.parse(out) : []), ...denied])
          : JSON.stringify(denied[0])
      }
      logErrors('http', out, ids)
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(out)
    } catch (e) {
      res.writeHead(502)
      res.end(String(e))
    }
  })
})

const wss = new WebSocketServer({ noServer: true })
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (client) => {
    const up = new WebSocket(upstreamWs)
    const pending = []
    const ids = new Map()
    up.on('open', () => {
      for (const m of pending) up.send(m)
      pending.length = 0
    })
    up.on('message', (data) => {
      const text = data.toString()
      logErrors('ws', text, ids)
      if (client.readyState === WebSocket.OPEN) client.send(text)
    })
    up.on('close', () => client.close())
    up.on('error', () => client.close())
    client.on('message', (data) => {
      const text = data.toString()
      for (const [k, v] of logRequests('ws', text)) ids.set(k, v)
      const { forward, denied, isBatch } = splitDenied(text)
      if (denied.length > 0) {
        const reply = JSON.stringify(isBatch ? denied : denied[0])
        logErrors('ws', reply, ids)
        client.send(reply) // (a mixed WS batch would get two replies; clients here do not send those)
      }
      if (forward === null) return
      if (up.readyState === WebSocket.OPEN) up.send(forward)
      else pending.push(forward)
    })
    client.on('close', () => up.close())
  })
})

server.listen(Number(port), '127.0.0.1', () => console.log(`rpc_log_proxy listening on ${port} -> ${upstream}, log ${logFile}, deny [${[...deny]}]`),
)
