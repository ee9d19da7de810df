#!/usr/bin/env node
// Start the test S3 server (npm @20minutes/s3rver, installed under
// tests/node_modules by scripts/install-deps) on 127.0.0.1.
//
//   node scripts/s3rver.js --dir DIR [--port PORT] [--bucket NAME]...
//                          [--address ADDR] [--quiet]
//                          [--allow-mismatched-signatures]
//
// Prints exactly one line on stdout, "ready PORT", once the server listens
// (PORT is the real port, useful with --port 0). The server's own log goes to
// stderr. SIGTERM or SIGINT closes it and exits 0. Credentials are s3rver's
// built-in pair S3RVER/S3RVER; it verifies SigV4 header signatures, so
// --allow-mismatched-signatures is only for peers that sign differently
// (benchmarks), never for correctness tests.
'use strict'

const path = require('node:path')

function usage(msg) {
  if (msg) process.stderr.write(`s3rver.js: ${msg}\n`)
  process.stderr.write(
    'usage: node scripts/s3rver.js --dir DIR [--port PORT] [--bucket NAME]... ' +
      '[--address ADDR] [--quiet] [--allow-mismatched-signatures]\n'
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { dir: null, port: 4568, address: '127.0.0.1', buckets: [], quiet: false,
    mismatched: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`)
      return argv[++i]
    }
    switch (arg) {
      case '--dir': opts.dir = value(); break
      case '--port': opts.port = value(); break
      case '--address': opts.address = value(); break
      case '--bucket': opts.buckets.push(value()); break
      case '--quiet': opts.quiet = true; break
      case '--allow-mismatched-signatures': opts.mismatched = true; break
      case '-h': case '--help': usage()
      default: usage(`unknown argument: ${arg}`)
    }
  }
  if (!opts.dir) usage('--dir is required')
  if (!/^\d+$/.test(String(opts.port)) || Number(opts.port) > 65535) {
    usage(`bad --port: ${opts.port}`)
  }
  opts.port = Number(opts.port)
  return opts
}

function loadS3rver() {
  const top = path.resolve(__dirname, '..')
  try {
    const main = require.resolve('@20minutes/s3rver', {
      paths: [path.join(top, 'tests'), __dirname],
    })
    const S3rver = require(main)
    if (!process.stderr.isTTY) plainLogs(main)
    return S3rver
  } catch (err) {
    process.stderr.write(`s3rver.js: cannot load @20minutes/s3rver (${err.message}); ` +
      'run scripts/install-deps\n')
    process.exit(1)
  }
}

// winston's colorize (logform) forces ANSI colours on; they only clutter log
// files. Best effort: a layout change in those packages just keeps colours.
function plainLogs(s3rverMain) {
  try {
    const logform = require.resolve('logform', { paths: [path.dirname(s3rverMain)] })
    const colors = require.resolve('@colors/colors/safe', { paths: [path.dirname(logform)] })
    require(colors).enabled = false
  } catch (_) {}
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const S3rver = loadS3rver()
  require('node:fs').mkdirSync(opts.dir, { recursive: true })

  const server = new S3rver({
    directory: opts.dir,
    address: opts.address,
    port: opts.port,
    silent: opts.quiet,
    allowMismatchedSignatures: opts.mismatched,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  })
  // Keep stdout for the "ready" line alone: send every log level to stderr.
  for (const t of server.logger.transports) {
    t.stderrLevels = Object.fromEntries(
      ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'].map((l) => [l, true]))
  }

  const { port } = await server.run()
  process.stdout.write(`ready ${port}\n`)

  let closing = false
  const stop = () => {
    if (closing) return
    closing = true
    server.close().then(() => process.exit(0), () => process.exit(0))
    // Keep-alive connections can hold close() open; do not wait for them long.
    setTimeout(() => process.exit(0), 2000).unref()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  process.stderr.write(`s3rver.js: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
})
