// Package integration runs the project's real processes in containers and proves the invariants of
// DESIGN.md on them under faults: a NATS cluster of three with JetStream, several workers and the
// Genesys simulator, all from images built here FROM scratch out of our own static binaries
// (images_test.go), driven with testcontainers-go.
//
// The tests need a Docker engine. Without one they skip with a message, unless
// GENESYS_REQUIRE_DOCKER=1 (set by .ci/run), which turns the skip into a failure.
//
// Run them with go test -tags integration ./integration/ (docs/containers.md).
//
// Testcontainers' reaper (Ryuk) is disabled: its image would have to be pulled, and this project
// builds every image it runs. Every container and network is removed in t.Cleanup instead; a
// test binary killed hard may leave containers behind, labelled org.testcontainers=true.
package integration
