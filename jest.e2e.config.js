/** End-to-end suite: a real n8n with this package installed, driven over HTTP. */
/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.e2e.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
	testTimeout: 180000,
	// Installs the pinned n8n (minutes on a fresh machine) and packs the package once, before any test.
	globalSetup: '<rootDir>/test/e2e/support/global-setup.ts',
};
