// The conformance-compatible echo server is also `meshlet dev`'s sample workload, so it lives
// with the product (cli/dev/echo-workload.ts); tests import it from here as before.
export * from '../../cli/dev/echo-workload.ts';
