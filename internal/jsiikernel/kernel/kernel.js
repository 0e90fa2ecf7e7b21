// kernel.js runs jsii's kernel, program.js (byte for byte the copy jsii-runtime-go embeds, with its
// runtime-index-worker.js), in this Node process, without the relay process that @jsii/runtime starts it
// behind. internal/jsiikernel writes these files and the shell command that runs this one; docs/checks.md,
// "The jsii kernel without its relay", says why. It does the two things the relay did besides relaying.
'use strict';
const fs = require('fs');

// 1. The channel. program.js speaks jsii's protocol on file descriptor 3, which the relay opens as a
// two-way socket. The shell command hands it the Go process's two pipes instead: `4<&0 0</dev/null` moves
// the pipe the Go process writes requests to onto fd 4, and `3>&1 1>&2` puts the pipe it reads responses
// from on fd 3 (and fd 1 on stderr, so that nothing written to fd 1 can reach the responses). So the kernel
// reads fd 4 where it would read fd 3.
const readSync = fs.readSync;
fs.readSync = function readRequests(fd, ...rest) {
  return readSync.call(this, fd === 3 ? 4 : fd, ...rest);
};

// 2. The output. The relay hands whatever the kernel prints to jsii-runtime-go as lines of JSON on stderr,
// {"stdout": base64} or {"stderr": base64}, which it decodes and writes to the Go process's stdout or
// stderr; a line of any other JSON object it drops. So what the kernel prints is wrapped the same way.
const writeStderr = process.stderr.write.bind(process.stderr);
function relayed(key) {
  return function write(chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding || 'utf8') : Buffer.from(chunk);
    return writeStderr(`${JSON.stringify({ [key]: bytes.toString('base64') })}\n`, callback);
  };
}
process.stdout.write = relayed('stdout');
process.stderr.write = relayed('stderr');

// The relay also warns when Node is older than jsii supports, or newer than it was tested with; so does
// this, for the releases the vendored jsii (1.142) names, and the relay's variables silence it.
const major = Number(process.versions.node.split('.')[0]);
const silenced = (name) => (process.env[name] || '').split(',').map((v) => v.trim()).includes(String(major));
if (major < 22 && !silenced('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION')) {
  process.stderr.write(`jsii: Node ${process.version} is end-of-life and not supported by jsii; use Node 22 or 24.\n`);
} else if (major > 22 && major !== 24 && !process.env.JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION) {
  process.stderr.write(`jsii: this version of jsii has not been tested with Node ${process.version}; it supports Node 22 and 24.\n`);
}

require('./program.js');
