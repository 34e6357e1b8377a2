// Package relay delivers the audit events that package audit stores to webhook endpoints: a
// SIEM, Splunk, Elastic or any receiver of Standard Webhooks.
//
// # What it holds
//
// [Relay] reads the relay stream (a mirror of the audit stream that only the relay consumes)
// through one durable consumer per [Endpoint], and delivers every event at least once, in order
// with Concurrency 1, signed, retried on the endpoint's schedule, and never dropped silently: an
// event an endpoint will not take goes to <prefix>.dead.relay.<endpoint> as a [DeadLetter]. A 410
// Gone disables the endpoint until an operator enables it ([EndpointAdmin]). [Relay.Replay] sends
// a time range again. The egress guard refuses loopback, private and other non-public targets
// unless the endpoint sets AllowPrivate, at connection time ([EgressError]). [Sink] is a
// verifying receiver for development and tests (`worker --dev`).
//
// It does not hold the event model, publishing, or the Standard Webhooks signing and
// verification primitives: those are package audit's, which does not import this package (an
// ingress that verifies webhooks uses them without the relay).
//
// # Modes
//
// A [Mode] says how a delivery is shaped and authenticated: [ModeStandard] (the CloudEvent with
// Standard Webhooks headers), [ModeSplunkHEC] (a HEC envelope and a Splunk token) and
// [ModeHMACHeader] (a body HMAC in one header, as Elastic checks). Each is one file,
// mode_<name>.go, holding its [Adapter] and its settings struct on [Endpoint]. Every mode gets
// the Standard Webhooks headers, and a webhook-signature when the endpoint has whsec_ secrets.
//
// # Adding a mode
//
//  1. Write mode_<name>.go: the Mode constant, a settings struct (add it as a field of
//     Endpoint), and an Adapter: Validate checks the settings, Prepare returns the body,
//     content type and headers of one attempt, Secrets lists the credentials to scrub. A mode
//     whose credential must be fetched (an OAuth token) builds its cached token source in its
//     constructor and fetches in Prepare.
//  2. Add one row to the modes table in adapter.go.
//  3. Add one row to suiteModes in adapter_suite_test.go: how to configure it, its credentials,
//     and how a receiver verifies a request. The suite then checks signature or auth, order,
//     retries, 410, size limits and the egress guard for it.
//  4. In internal/relaycmd, read its settings (a nested object named like its Endpoint field)
//     and their secrets from files or the environment.
package relay
