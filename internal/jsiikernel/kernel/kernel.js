// kernel.js runs jsii's kernel, program.js (byte for byte the copy jsii-runtime-go embeds), in this Node
// process, without the relay process that @jsii/runtime starts it behind. internal/jsiikernel writes both
// files and the shell command that runs this one; docs/checks.md, "The jsii kernel without its relay",
// says why.
//
// program.js speaks jsii's protocol on file descriptor 3, which the relay opens as a two-way socket. The
// shell command hands it the Go process's two pipes instead: `4<&0 0</dev/null` moves the pipe the Go
// process writes requests to onto fd 4, and `3>&1 1>&2` puts the pipe it reads responses from on fd 3 and
// sends fd 1 to stderr, so that whatever the kernel or a library prints goes to stderr, as it does behind
// the relay. The one change to the kernel: it reads fd 4 where it would read fd 3.
'use strict';
const fs = require('fs');

const readSync = fs.readSync;
fs.readSync = function readRequests(fd, ...rest) {
  return readSync.call(this, fd === 3 ? 4 : fd, ...rest);
};

// The relay warns when Node is older than jsii supports; so does this. Node 22 is the oldest release the
// vendored jsii (1.142) supports.
const OLDEST_SUPPORTED_NODE = 22;
if (Number(process.versions.node.split('.')[0]) < OLDEST_SUPPORTED_NODE) {
  process.stderr.write(`jsii: Node ${process.version} is end-of-life and not supported by jsii; use Node ${OLDEST_SUPPORTED_NODE} or later.\n`);
}

require('./program.js');
