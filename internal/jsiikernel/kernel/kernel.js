// kernel.js runs jsii's kernel, program.js (the copy jsii-runtime-go embeds, with its
// runtime-index-worker.js, and two places changed: internal/jsiikernel's patches), in this Node process,
// without the relay process that @jsii/runtime starts it behind. internal/jsiikernel writes these files and
// the shell command that runs this one; docs/checks.md, "The jsii kernel without its relay", says why, and
// what differs.
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

// 2. The output. The relay hands what the kernel prints to jsii-runtime-go as lines of JSON on stderr,
// {"stdout": base64} or {"stderr": base64}, which it decodes and writes to the Go process's stdout or
// stderr (a line of another JSON object it drops). So what the kernel prints through process.stdout and
// process.stderr is wrapped the same way, and written at once: the kernel exits (process.exit) as soon as
// the Go process says so, which would drop what Node still had queued for a pipe.
const writeSync = fs.writeSync;
const pause = new Int32Array(new SharedArrayBuffer(4));
function writeAll(fd, buffer) {
  for (let at = 0; at < buffer.length;) {
    try {
      at += writeSync(fd, buffer, at);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1); // the pipe is full: wait for the Go process to read it
    }
  }
}
function relayed(key) {
  return function write(chunk, encoding, callback) {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding || 'utf8') : Buffer.from(chunk);
    writeAll(2, Buffer.from(`${JSON.stringify({ [key]: bytes.toString('base64') })}\n`));
    if (typeof callback === 'function') process.nextTick(callback);
    return true;
  };
}
process.stdout.write = relayed('stdout');
process.stderr.write = relayed('stderr');

// 3. The relay's warning about the Node release, from the releases its table names (jsii-runtime-go 1.142's
// bin/jsii-runtime.js, from Node 18 on; TestVendoredKernelIsJsiiRuntimeGosOwn compares): major → [end of
// life, end of jsii's support if not six months later]. A release is deprecated between the two and
// unsupported after; one the table does not name is untested if newer than all of them, long unsupported
// if older. The relay's variables silence it.
const RELEASES = { 18: ['2025-04-30', '2025-11-30'], 20: ['2026-04-30'], 22: ['2027-04-30'], 24: ['2028-04-30'] };
const major = Number(process.versions.node.split('.')[0]);
const [eol, eos] = RELEASES[major] || [];
const endOfLife = eol && new Date(eol);
const endOfSupport = eos ? new Date(eos) : endOfLife && new Date(endOfLife.getFullYear(), endOfLife.getMonth() + 6, endOfLife.getDate());
const newest = Math.max(...Object.keys(RELEASES).map(Number));
const env = (name) => process.env[name] || '';
if (endOfLife ? endOfSupport <= Date.now() : major < newest) {
  if (!env('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION').split(',').map((v) => v.trim()).includes(String(major))) {
    process.stderr.write(`jsii: Node ${major} is end-of-life and not supported anymore by jsii; upgrade to Node 22 or 24.\n`);
  }
} else if (!endOfLife) {
  if (!env('JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION')) {
    process.stderr.write(`jsii: jsii has not been tested with Node ${process.version}; should you meet odd runtime issues, use Node 22 or 24.\n`);
  }
} else if (endOfLife <= Date.now() && !env('JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION')) {
  process.stderr.write(`jsii: Node ${major} reached its end of life on ${eol}; jsii supports it until ${endOfSupport.toISOString().slice(0, 10)}.\n`);
}

// 4. The package digests. At every start jsii-runtime-go writes each package the program embeds to a
// temporary file (62 MB for aws-cdk-lib and its dependencies) and the kernel hashes each one, to find the
// package's extracted copy in jsii's package cache (docs/checks.md, "Package digests kept per build").
// internal/jsiikernel passes, as this script's argument, a key naming every Go module the program was built
// from by its go.sum checksum; the packages it embeds come from those modules, so the key fixes their
// bytes. Their digests are kept in digests/<key>.json once computed, by package and size, and given back
// to the kernel (which internal/jsiikernel has ask kmsguardDigestFile) as long as jsii's cache holds a
// complete copy by that digest (cached). Otherwise (no key, a package of another size, a copy jsii has
// pruned) the digest is computed as before, and kept again.
const crypto = require('crypto');
const path = require('path');
const sha256Hex = /^[0-9a-f]{64}$/;
const buildKey = process.argv[2] || '';
const memoFile = sha256Hex.test(buildKey) ? path.join(__dirname, 'digests', `${buildKey}.json`) : '';
let memo;
globalThis.kmsguardDigestFile = function digestFile(tarball, [name, version], compute, cached) {
  if (!memoFile) return compute();
  if (memo === undefined) {
    try {
      memo = JSON.parse(fs.readFileSync(memoFile, 'utf8'));
    } catch {} // none yet, or unreadable: computed again, and rewritten
    if (typeof memo !== 'object' || memo === null || Array.isArray(memo)) memo = {};
  }
  const key = `${name}@${version}`;
  const size = fs.statSync(tarball).size;
  const kept = Object.prototype.hasOwnProperty.call(memo, key) ? memo[key] : undefined;
  if (kept && kept.size === size && sha256Hex.test(kept.sha256)) {
    const digest = Buffer.from(kept.sha256, 'hex');
    if (cached(digest)) return digest;
  }
  const digest = compute();
  memo[key] = { size, sha256: digest.toString('hex') };
  const temporary = `${memoFile}.${process.pid}.${crypto.randomBytes(6).toString('hex')}`;
  try {
    fs.writeFileSync(temporary, JSON.stringify(memo), { mode: 0o600, flag: 'wx' });
    fs.renameSync(temporary, memoFile); // whole, for a concurrent start
  } catch {
    try {
      fs.rmSync(temporary, { force: true }); // not kept: computed again next time
    } catch {}
  }
  return digest;
};

// 5. The compile cache. Node can keep the code V8 compiles for each module and skip compiling it at the
// next start (module.enableCompileCache), about 80 ms of a synth, but finds it by the module's path, and
// jsii's kernel loads every package from a new temporary directory (jsii-kernel-*) at every start. So the
// kernel gets a work directory that comes back, work/<network namespace>-<n>, which one kernel at a time
// holds by binding the abstract socket kmsguard-jsii-<uid>-<digest of this directory's path>-<n> (Linux
// only; the system releases it when the process ends, however it ends). Abstract sockets are per network
// namespace, hence its number in the directory's name: kernels in two containers that share this
// directory never share a work directory. The directory is emptied when a kernel takes it and removed by
// the kernel at its exit, as jsii's own. Without Linux, its namespace or Node's compile cache, or when all
// eight are held, the kernel works as before.
const SLOTS = 8;
function networkNamespace() {
  if (process.platform !== 'linux' || typeof require('module').enableCompileCache !== 'function') return '';
  try {
    return String(fs.statSync('/proc/self/ns/net').ino);
  } catch {
    return '';
  }
}
function holdSlot(name, n, then) {
  if (n >= SLOTS) return then(-1);
  const lock = require('net').createServer((socket) => socket.destroy());
  lock.once('error', () => holdSlot(name, n + 1, then));
  lock.listen({ path: `${name}-${n}` }, () => {
    lock.removeAllListeners('error');
    lock.on('error', () => {}); // a failed accept (someone connected) changes nothing
    lock.unref(); // held until the process ends
    then(n);
  });
}
function start(namespace, n) {
  if (n >= 0) {
    const work = path.join(__dirname, 'work', `${namespace}-${n}`);
    try {
      fs.rmSync(work, { recursive: true, force: true }); // left by a kernel that was killed
      fs.mkdirSync(work, { recursive: true, mode: 0o700 });
      const cache = path.join(__dirname, 'compile-cache');
      fs.mkdirSync(cache, { recursive: true, mode: 0o700 });
      const mkdtempSync = fs.mkdtempSync;
      let given = false;
      fs.mkdtempSync = function workDirectory(prefix, ...rest) {
        if (given || path.basename(prefix) !== 'jsii-kernel-') return mkdtempSync.call(this, prefix, ...rest);
        given = true;
        return work;
      };
      require('module').enableCompileCache(cache);
    } catch {} // the kernel works as before
  }
  require('./program.js');
}
const namespace = networkNamespace();
if (namespace) {
  const digest = crypto.createHash('sha256').update(__dirname).digest('hex').slice(0, 16);
  holdSlot(`\0kmsguard-jsii-${process.getuid()}-${digest}`, 0, (n) => start(namespace, n));
} else {
  start('', -1);
}
