// Runs before `npm ci` and `npm start`, on whatever Node the machine has. The server is
// TypeScript run by Node's type stripping, so an older Node fails with a stack trace about file
// extensions; say instead, in one line, what is needed and where to get it. Written in ES5 so
// that very old Nodes can run it too.
'use strict'
var REQUIRED = [22, 18]

function isSupported(version) {
  var parts = String(version).replace(/^v/, '').split('.')
  var major = Number(parts[0])
  var minor = Number(parts[1])
  return major > REQUIRED[0] || (major === REQUIRED[0] && minor >= REQUIRED[1])
}

if (!isSupported(process.versions.node)) {
  process.stderr.write(
    'canvas-collab-server needs Node.js >= ' + REQUIRED.join('.') + ' but found ' + process.version +
    ' (' + process.execPath + '); see "Getting Node" in README.md for how to install it.\n'
  )
  process.exit(1)
}
