// Runs in each test file's realm before its tests (jest.config.js: setupFiles).
//
// Jest's node environment raises Error.stackTraceLimit to 100 and renders every `error.stack` through its
// source maps, frame by frame. Pulumi records `new Error().stack` for each of the four promises of every
// resource property (runtime/debuggable.js), so a component test formatted ~100 frames thousands of times:
// about a quarter of pipeline.test.ts went there. Node's own default of 10 frames still shows where a
// failing assertion was made, and nothing in the project reads deeper stacks.
Error.stackTraceLimit = 10;

// The AWS SDK for JavaScript v3 warns once per process (so once per jest worker) that its releases after
// January 2027 need Node >= 22 (NodeVersionSupportWarning); this machine's Node 20 triggers it. The SDK's
// announcement names this variable as the way to silence it (https://github.com/aws/aws-sdk-js-v3/issues/7983);
// set here only, so users running the CLI on Node 20 still see it. Child processes the tests start inherit it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
