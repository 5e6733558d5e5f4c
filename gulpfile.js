// Copies what tsc does not emit into dist/: the node and credential icons, and the
// codex files (*.node.json) that tell n8n's node panel where each node belongs.
const { src, dest, parallel } = require('gulp');

function copyIcons() {
	return src('icons/**/*.{png,svg}', { encoding: false }).pipe(dest('dist/icons'));
}

function copyNodeAssets() {
	return src('nodes/**/*.{png,svg,json}', { encoding: false }).pipe(dest('dist/nodes'));
}

exports.build = parallel(copyIcons, copyNodeAssets);
exports.default = exports.build;
