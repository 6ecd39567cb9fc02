// Builds the native addon with cargo (release, locked) and puts it next to index.js as
// signpost.node, the file index.js loads. Run from this directory: `npm run build`.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
execFileSync('cargo', ['build', '--release', '--locked', '-p', 'signpost-node'], {
  cwd: root,
  stdio: 'inherit',
});
const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const names = { linux: 'libsignpost_node.so', darwin: 'libsignpost_node.dylib', win32: 'signpost_node.dll' };
const built = path.join(target, 'release', names[process.platform] || names.linux);
fs.copyFileSync(built, path.join(__dirname, '..', 'signpost.node'));
console.log(`built ${path.relative(process.cwd(), path.join(__dirname, '..', 'signpost.node'))}`);
