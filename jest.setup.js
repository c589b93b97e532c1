// Runs in each test file's realm before its tests (jest.config.js: setupFiles).
//
// Jest's node environment raises Error.stackTraceLimit to 100 and renders every `error.stack` through its
// source maps, frame by frame. Pulumi records `new Error().stack` for each of the four promises of every
// resource property (runtime/debuggable.js), so a component test formatted ~100 frames thousands of times:
// about a quarter of pipeline.test.ts went there. Node's own default of 10 frames still shows where a
// failing assertion was made, and nothing in the project reads deeper stacks.
Error.stackTraceLimit = 10;
