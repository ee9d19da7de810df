#!/usr/bin/env node
// Start the test S3 server (npm @20minutes/s3rver, installed under
// tests/node_modules by scripts/install-deps) on 127.0.0.1.
//
//   node scripts/s3rver.js --dir DIR [--port PORT] [--bucket NAME]...
//                          [--address ADDR] [--quiet]
//                          [--allow-mismatched-signatures]
//                          [--conditional-writes]
//
// Prints exactly one line on stdout, "ready PORT", once the server listens
// (PORT is the real port, useful with --port 0). The server's own log goes to
// stderr. SIGTERM or SIGINT closes it and exits 0. Credentials are s3rver's
// built-in pair S3RVER/S3RVER; it verifies SigV4 header signatures, so
// --allow-mismatched-signatures is only for peers that sign differently
// (benchmarks), never for correctness tests. --conditional-writes makes
// PutObject and CompleteMultipartUpload honour If-None-Match: * and
// If-Match as AWS S3 (since 2024) and RGW do; s3rver itself ignores them.
'use strict'

const path = require('node:path')
const crypto = require('node:crypto')

// s3rver makes ListObjectsV2 continuation tokens with single DES, which
// the OpenSSL 3 inside Node 17+ only offers through its legacy provider:
// every truncated listing then fails with 500.  Triple DES with the key
// repeated three times computes exactly single DES and is in the default
// provider, so map 'des' onto it.
for (const name of ['createCipheriv', 'createDecipheriv']) {
  const orig = crypto[name]
  crypto[name] = function (algo, key, iv, ...rest) {
    if (String(algo).toLowerCase() === 'des' && key && key.length === 8) {
      return orig.call(this, 'des-ede3-cbc', Buffer.concat([key, key, key]), iv, ...rest)
    }
    return orig.call(this, algo, key, iv, ...rest)
  }
}

// SigV4 canonicalises query parameters with RFC 3986 encoding: '*', '!',
// "'", '(' and ')' become %2A... as AWS S3 and RGW do.  s3rver's signature
// check uses JavaScript's encodeURIComponent, which leaves them as they
// are, so a listing of a prefix with '*' in it (a lookup of "a*") failed
// with 403.  Its only other use of encodeURIComponent is its own RFC 3986
// helper, which this leaves unchanged.
{
  const plain = globalThis.encodeURIComponent
  globalThis.encodeURIComponent = (s) =>
    plain(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

function usage(msg) {
  if (msg) process.stderr.write(`s3rver.js: ${msg}\n`)
  process.stderr.write(
    'usage: node scripts/s3rver.js --dir DIR [--port PORT] [--bucket NAME]... ' +
      '[--address ADDR] [--quiet] [--allow-mismatched-signatures] ' +
      '[--conditional-writes]\n'
  )
  process.exit(2)
}

function parseArgs(argv) {
  const opts = { dir: null, port: 4568, address: '127.0.0.1', buckets: [], quiet: false,
    mismatched: false, conditional: false }
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
      case '--conditional-writes': opts.conditional = true; break
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

function loadS3rver(opts) {
  const top = path.resolve(__dirname, '..')
  try {
    const main = require.resolve('@20minutes/s3rver', {
      paths: [path.join(top, 'tests'), __dirname],
    })
    const S3rver = require(main)
    if (!process.stderr.isTTY) plainLogs(main)
    fixKeysAndListing(path.dirname(main))
    atomicPuts(path.dirname(main))
    firstByteRanges(path.dirname(main))
    if (opts.conditional) conditionalWrites(path.dirname(main))
    return S3rver
  } catch (err) {
    process.stderr.write(`s3rver.js: cannot load @20minutes/s3rver (${err.message}); ` +
      'run scripts/install-deps\n')
    process.exit(1)
  }
}

// s3rver reads "Range: bytes=0-0" as "from 0 to the end" (its store takes
// an end of 0 for none) and answers 206 with the whole object, where S3
// sends the first byte.  A client that checks what it gets (s3fd does)
// then fails, e.g. committing a file truncated to 1 byte from a larger
// object.  Serve an end of 0 as S3 does.
function firstByteRanges(libDir) {
  const FilesystemStore = require(path.join(libDir, 'stores', 'filesystem.js'))
  const S3Object = require(path.join(libDir, 'models', 'object.js'))
  const { createReadStream } = require('node:fs')
  const getObject = FilesystemStore.prototype.getObject

  FilesystemStore.prototype.getObject = async function (bucket, key, options) {
    if (!options || options.end !== 0) return getObject.call(this, bucket, key, options)
    let metadata
    try {
      metadata = await this.getMetadata(bucket, key)
    } catch (err) {
      if (err.code === 'ENOENT') return null
      throw err
    }
    const range = { start: options.start || 0, end: 0 }
    let content = null
    if (range.start === 0 && Number(metadata['content-length']) > 0) {
      content = await new Promise((resolve, reject) => {
        const stream = createReadStream(this.getResourcePath(bucket, key, 'object'), range)
          .on('error', reject)
          .on('open', () => resolve(stream))
      })
    }
    const object = new S3Object(bucket, key, content, metadata)
    object.range = range // no content: 416, as the store answers
    return object
  }
}

// s3rver streams a PUT's body straight into the object's file, so an
// upload cut short (its client killed mid-body) leaves a torn object
// there, which S3 never stores: a PUT either stores the whole body or
// nothing.  Write the body to a temporary file beside it (its name does
// not end like an object's, so listings skip it) and rename it into
// place only when all of it arrived.
function atomicPuts(libDir) {
  const FilesystemStore = require(path.join(libDir, 'stores', 'filesystem.js'))
  const fsp = require('node:fs/promises')

  FilesystemStore.prototype.putObject = async function (object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object')
    const tmp = `${objectPath}.upload-${crypto.randomBytes(8).toString('hex')}`
    await fsp.mkdir(path.dirname(objectPath), { recursive: true })
    let size, md5
    try {
      ;[size, md5] = await this.putContent(tmp, object.content)
    } catch (err) {
      await fsp.unlink(tmp).catch(() => {})
      throw err
    }
    await fsp.rename(tmp, objectPath)
    await this.putMetadata(object.bucket, object.key, object.metadata, md5)
    return { size, md5 }
  }

  // Its metadata and MD5 files are rewritten in place too: a GET at that
  // moment read an empty JSON file and answered 500.  Rename them into
  // place whole.  (Body, MD5 and metadata are still three renames: a GET
  // between them can pair a new body with the old ETag, which tests
  // that read while the mount rewrites an object allow for.)
  const S3Object = require(path.join(libDir, 'models', 'object.js'))
  const { pick, pickBy } = require(require.resolve('lodash', { paths: [libDir] }))
  const writeWhole = async (file, data) => {
    const tmp = `${file}.upload-${crypto.randomBytes(8).toString('hex')}`
    await fsp.writeFile(tmp, data)
    await fsp.rename(tmp, file)
  }
  FilesystemStore.prototype.putMetadata = async function (bucket, key, metadata, md5) {
    const json = {
      ...pick(metadata, S3Object.ALLOWED_METADATA),
      ...pickBy(metadata, (_value, name) => name.startsWith('x-amz-meta-')),
    }
    if (md5) await writeWhole(this.getResourcePath(bucket, key, 'object.md5'), md5)
    await writeWhole(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2))
  }

  // CopyObject with x-amz-metadata-directive REPLACE to another key copied
  // the body but not its MD5, so the copy kept the ETag of whatever the
  // destination held before (or none): a client that compares ETags (s3f's
  // open() does) took the new body for the old version.  Copy the body
  // whole (rename into place) and give the copy the source's MD5.
  const copyObject = FilesystemStore.prototype.copyObject
  FilesystemStore.prototype.copyObject = async function (srcBucket, srcKey, destBucket, destKey,
    replacementMetadata) {
    const src = this.getResourcePath(srcBucket, srcKey, 'object')
    const dest = this.getResourcePath(destBucket, destKey, 'object')
    if (!replacementMetadata || src === dest) {
      return copyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacementMetadata)
    }
    const md5 = await fsp.readFile(this.getResourcePath(srcBucket, srcKey, 'object.md5'), 'utf8')
    const tmp = `${dest}.upload-${crypto.randomBytes(8).toString('hex')}`
    await fsp.mkdir(path.dirname(dest), { recursive: true })
    try {
      await fsp.copyFile(src, tmp)
    } catch (err) {
      await fsp.unlink(tmp).catch(() => {})
      throw err
    }
    await fsp.rename(tmp, dest)
    await this.putMetadata(destBucket, destKey, replacementMetadata, md5)
    return this.getMetadata(destBucket, destKey)
  }
}

// s3rver keeps each object as files named after its key, so keys that
// are not file paths break it: path.join turns "a/../b" into "b" and
// "a//b" into "a/b", and a component over 255 bytes cannot be stored.  S3
// takes any key, and s3f's tests need such keys (s3f must skip them
// without hiding their siblings).  So store each key component escaped:
// "&" -> "&26", "" -> "&e", "." -> "&d", ".." -> "&dd", and a component
// over 200 bytes split into 200-byte pieces joined by "&+/".
//
// Its ListObjects also stops its walk two levels below the prefix when a
// delimiter is given, so a prefix whose keys all sit deeper ("a/b/c" with
// no key directly in "a/") was never reported.  The replacement walks the
// subtree under the prefix's directory, folds keys into common prefixes as
// S3 does, and keeps s3rver's return shape and truncation rule.
function fixKeysAndListing(libDir) {
  const FilesystemStore = require(path.join(libDir, 'stores', 'filesystem.js'))
  const S3Object = require(path.join(libDir, 'models', 'object.js'))
  const { walk } = require(path.join(libDir, 'utils.js'))
  const objectSuffix = '._S3rver_object'

  const encodeComponent = (c) => {
    c = c.replace(/&/g, '&26')
    if (c === '') return '&e'
    if (c === '.') return '&d'
    if (c === '..') return '&dd'
    const pieces = []
    let piece = ''
    for (const ch of c) {
      if (Buffer.byteLength(piece + ch) > 200) {
        pieces.push(piece)
        piece = ''
      }
      piece += ch
    }
    pieces.push(piece)
    return pieces.join('&+/')
  }
  const decodeComponent = (c) =>
    (c === '&e' ? '' : c === '&d' ? '.' : c === '&dd' ? '..' : c).replace(/&26/g, '&')
  FilesystemStore.encodeKeyPath = (key) => key.split('/').map(encodeComponent).join('/')
  FilesystemStore.decodeKeyPath = (p) =>
    p.replace(/&\+\//g, '').split('/').map(decodeComponent).join('/')

  FilesystemStore.prototype.listObjects = async function (bucket, options) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options
    const bucketPath = this.getBucketPath(bucket)
    // the directory holding every key under prefix: its complete components
    const whole = prefix.split('/').slice(0, -1)
    const prefixDir = [bucketPath, ...whole.map(encodeComponent)].join('/')
    const it = walk(bucketPath, (dir) =>
      dir === prefixDir || dir.startsWith(prefixDir + '/') ||
      (prefixDir + '/').startsWith(dir + '/'))
    const keys = []
    const commonPrefixes = new Set()
    let isTruncated = false
    for (const keyPath of it) {
      if (!keyPath.endsWith(objectSuffix)) continue
      const key = FilesystemStore.decodeKeyPath(
        keyPath.slice(bucketPath.length + 1, -objectSuffix.length))
      if (key <= startAfter || !key.startsWith(prefix)) continue
      const idx = delimiter ? key.slice(prefix.length).indexOf(delimiter) : -1
      if (idx !== -1) {
        commonPrefixes.add(key.slice(0, prefix.length + idx + delimiter.length))
        continue
      }
      if (keys.length < maxKeys) {
        keys.push(key)
      } else {
        isTruncated = true
        break
      }
    }
    keys.sort()
    const objects = []
    for (const key of keys) {
      try {
        objects.push(new S3Object(bucket, key, null, await this.getMetadata(bucket, key)))
      } catch (err) {
        if (err.code !== 'ENOENT') throw err
      }
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated }
  }
}

// Conditional writes, as AWS S3 documents them: If-None-Match: * fails
// with 412 PreconditionFailed when the key exists; If-Match: ETAG fails
// with 412 when the object's ETag differs and 404 NoSuchKey when there is
// none. Every PutObject and CompleteMultipartUpload of a key (conditional
// or not) runs after the previous one finished, so the check and the
// write are atomic against other writes of that key.
function conditionalWrites(libDir) {
  const objectCtrl = require(path.join(libDir, 'controllers', 'object.js'))
  const S3Error = require(path.join(libDir, 'models', 'error.js'))
  const tails = new Map()   // "bucket/key" -> promise of the last write

  const check = async (ctx) => {
    const ifNoneMatch = ctx.get('if-none-match')
    const ifMatch = ctx.get('if-match')
    if (!ifNoneMatch && !ifMatch) return
    let meta = null
    if (ifMatch) {
      try {
        meta = await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key)
      } catch (err) {
        if (err.code !== 'ENOENT') throw err
      }
    }
    if (ifNoneMatch) {
      if (ifNoneMatch.trim() !== '*') {
        throw new S3Error('NotImplemented', 'If-None-Match takes only *')
      }
      // existence alone: one stat, not the metadata files
      if (meta || await ctx.store.existsObject(ctx.params.bucket, ctx.params.key)) {
        throw new S3Error('PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { Condition: 'If-None-Match' })
      }
    }
    if (ifMatch) {
      if (!meta) throw new S3Error('NoSuchKey', 'The specified key does not exist.')
      const want = ifMatch.replace(/"/g, '').trim()
      if (want !== '*' && want !== JSON.parse(meta.etag)) {
        throw new S3Error('PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          { Condition: 'If-Match' })
      }
    }
  }
  const serialised = (orig) => async function (ctx) {
    const id = `${ctx.params.bucket}/${ctx.params.key}`
    const prev = tails.get(id) || Promise.resolve()
    const run = prev.then(async () => {
      await check(ctx)
      return orig.call(this, ctx)
    })
    const tail = run.catch(() => {})
    tails.set(id, tail)
    try {
      return await run
    } finally {
      if (tails.get(id) === tail) tails.delete(id)
    }
  }
  objectCtrl.putObject = serialised(objectCtrl.putObject)
  objectCtrl.completeMultipartUpload = serialised(objectCtrl.completeMultipartUpload)
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
  const S3rver = loadS3rver(opts)
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
