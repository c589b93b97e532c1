/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  // v8 coverage: babel's istanbul counters would be captured by Pulumi's function serializer.
  coverageProvider: "v8",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 30000,
};
