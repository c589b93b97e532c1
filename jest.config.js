/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  // v8 coverage: babel's istanbul counters would be captured by Pulumi's function serializer.
  coverageProvider: "v8",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 30000,
  // Node's 10-frame stacks instead of jest's 100 (why: jest.setup.js).
  setupFiles: ["<rootDir>/jest.setup.js"],
  // Jest's default leaves one core idle; many suites wait on child processes and loopback servers, so
  // using every core keeps the suite well inside its five-minute budget on a 2-core machine.
  maxWorkers: "100%",
  // Transpile only: `npm test` type-checks the whole project once with tsc before jest runs, which is
  // far cheaper than ts-jest type-checking every test file's import graph (Pulumi's types are large).
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: { isolatedModules: true } }] },
};
