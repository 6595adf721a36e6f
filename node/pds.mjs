// The reference AT Protocol PDS (@atproto/pds) with a PLC directory (@did-plc/server), on
// 127.0.0.1 only. Used by scripts/pds (a PDS a newcomer can see), by the test suite and by the
// federation benchmark.
//
//   node node/pds.mjs [--port=2583] [--plc-port=2582 | --plc-url=URL] [--dir=var/pds]
//                     [--blob-limit=BYTES] [--rate-limits] [--invite-required] [--plc-only]
//
// Every option may also come from the environment (TAPES_PDS_PORT, TAPES_PLC_PORT, TAPES_PLC_URL,
// TAPES_PDS_DIR, PDS_BLOB_UPLOAD_LIMIT, PDS_RATE_LIMITS_ENABLED, PDS_INVITE_REQUIRED,
// PDS_ADMIN_PASSWORD, PDS_JWT_SECRET, PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX). Secrets that are
// not given are generated once and kept in <dir>/secrets.json (mode 600), so a restarted PDS
// keeps its accounts' sessions and PLC keys. The in-process PLC keeps its operations in
// <dir>/plc-ops.jsonl and replays them at start, so DIDs survive a restart too.
//
// When both servers listen it prints one JSON line on stdout:
//   {"ready":true,"pds":"http://localhost:PORT","plc":"http://127.0.0.1:PORT","adminPassword":...}
// and stops cleanly on SIGTERM/SIGINT.

import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import process from 'node:process'

import { Secp256k1Keypair } from '@atproto/crypto'
import * as pdsLib from '@atproto/pds'
import * as plc from '@did-plc/server'

const HOST = '127.0.0.1'

function parseArgs(argv) {
  const out = {}
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!m) throw new Error(`unknown argument ${arg}`)
    out[m[1]] = m[2] === undefined ? 'true' : m[2]
  }
  return out
}

const args = parseArgs(process.argv.slice(2))
const env = process.env
const opt = (name, envName, fallback) => args[name] ?? (envName && env[envName]) ?? fallback
const bool = (value) => ['1', 'true', 'yes', 'on'].includes(String(value).toLowerCase())

// Both servers call app.listen(port) (all interfaces): pin them to loopback.
function loopbackOnly(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, HOST, ...rest)
}

function loadSecrets(dir) {
  const file = path.join(dir, 'secrets.json')
  let saved = {}
  if (fs.existsSync(file)) saved = JSON.parse(fs.readFileSync(file, 'utf8'))
  return { file, saved }
}

async function persistentPlcDb(dir) {
  const db = plc.Database.mock()
  const log = dir ? path.join(dir, 'plc-ops.jsonl') : null
  if (log && fs.existsSync(log)) {
    for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
      if (!line.trim()) continue
      const { did, operation } = JSON.parse(line)
      await db.validateAndAddOp(did, operation)
    }
  }
  if (log) {
    const add = db.validateAndAddOp.bind(db)
    db.validateAndAddOp = async (did, operation) => {
      await add(did, operation)
      fs.appendFileSync(log, JSON.stringify({ did, operation }) + '\n')
    }
  }
  return db
}

async function startPlc(dir, port) {
  const db = await persistentPlcDb(dir)
  const server = plc.PlcServer.create({ db, port })
  loopbackOnly(server.app)
  const http = await server.start()
  return { server, url: `http://${HOST}:${http.address().port}` }
}

async function main() {
  const plcOnly = bool(opt('plc-only', null, 'false'))
  const dir = path.resolve(opt('dir', 'TAPES_PDS_DIR', 'var/pds'))
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })

  let plcServer = null
  let plcUrl = opt('plc-url', 'TAPES_PLC_URL', '')
  if (!plcUrl) {
    const started = await startPlc(dir, Number(opt('plc-port', 'TAPES_PLC_PORT', '2582')))
    plcServer = started.server
    plcUrl = started.url
  }
  if (plcOnly) {
    console.log(JSON.stringify({ ready: true, plc: plcUrl }))
    return { stop: () => plcServer?.destroy() }
  }

  const { file, saved } = loadSecrets(dir)
  const secrets = {
    adminPassword: env.PDS_ADMIN_PASSWORD || saved.adminPassword || randomBytes(16).toString('hex'),
    jwtSecret: env.PDS_JWT_SECRET || saved.jwtSecret || randomBytes(32).toString('hex'),
    plcRotationKey:
      env.PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX ||
      saved.plcRotationKey ||
      Buffer.from(await (await Secp256k1Keypair.create({ exportable: true })).export()).toString(
        'hex',
      ),
  }
  fs.writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 })

  const port = Number(opt('port', 'TAPES_PDS_PORT', '2583'))
  // Tapes may be 10 MiB (the lexicon's maxSize); the PDS default is 5 MiB. 50 MiB is the
  // official installer's value.
  const blobLimit = Number(opt('blob-limit', 'PDS_BLOB_UPLOAD_LIMIT', String(50 * 1024 * 1024)))
  const serverEnv = {
    port,
    hostname: 'localhost',
    devMode: true,
    version: '0.5.35',
    dataDirectory: dir,
    blobstoreDiskLocation: path.join(dir, 'blobs'),
    // The PDS resolves DIDs (e.g. the issuer of a service-auth token) through a fetch that
    // refuses IP-address hosts even with SSRF protection off: name the loopback PLC by name.
    didPlcUrl: plcUrl.replace(/^http:\/\/127\.0\.0\.1:/, 'http://localhost:'),
    serviceHandleDomains: ['.test'],
    crawlers: [],
    inviteRequired: bool(opt('invite-required', 'PDS_INVITE_REQUIRED', 'false')),
    rateLimitsEnabled: bool(opt('rate-limits', 'PDS_RATE_LIMITS_ENABLED', 'false')),
    blobUploadLimit: blobLimit,
    disableSsrfProtection: true,
    adminPassword: secrets.adminPassword,
    jwtSecret: secrets.jwtSecret,
    plcRotationKeyK256PrivateKeyHex: secrets.plcRotationKey,
    bskyAppViewUrl: undefined,
    trustedOAuthClients: [],
    rateLimitBypassIps: [],
    handleBackupNameservers: [],
  }
  const cfg = pdsLib.envToCfg(serverEnv)
  const pdsSecrets = pdsLib.envToSecrets(serverEnv)
  const pds = await pdsLib.PDS.create(cfg, pdsSecrets)
  loopbackOnly(pds.app)
  await pds.start()
  console.log(
    JSON.stringify({
      ready: true,
      pds: cfg.service.publicUrl,
      plc: plcUrl,
      dir,
      blobLimit,
      rateLimits: serverEnv.rateLimitsEnabled,
      inviteRequired: serverEnv.inviteRequired,
      adminPassword: secrets.adminPassword,
    }),
  )
  return {
    stop: async () => {
      await pds.destroy()
      await plcServer?.destroy()
    },
  }
}

const running = await main().catch((err) => {
  console.error(err)
  process.exit(1)
})
let stopping = false
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    if (stopping) return
    stopping = true
    try {
      await running.stop()
    } finally {
      process.exit(0)
    }
  })
}
