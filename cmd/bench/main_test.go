package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/offboard-dev/genesys-deactivator/bench"
)

// bench --help, -h and no arguments print the list of benchmarks and exit 0; an unknown
// benchmark exits 2 with the same list; a benchmark's -h prints its flags and exits 0.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
		notInOut string
	}{
		{args: nil, code: 0, out: "Benchmarks:"},
		{args: []string{"--help"}, code: 0, out: "Benchmarks:"},
		{args: []string{"-h"}, code: 0, out: "Benchmarks:"},
		{args: []string{"sideways"}, code: 2, err: `unknown benchmark "sideways"`, notInOut: "Benchmarks:"},
		{args: []string{"fleet", "-h"}, code: 0, err: "-sizes"},
		{args: []string{"fleet", "-no-such-flag"}, code: 1, err: "flag provided but not defined"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) ||
			(tc.notInOut != "" && strings.Contains(stdout.String(), tc.notInOut)) {
			t.Errorf("bench %v: exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, stdout.String(), stderr.String())
		}
	}
	var stdout bytes.Buffer
	run(t.Context(), []string{"--help"}, &stdout, &bytes.Buffer{})
	for _, b := range benchmarks {
		if !strings.Contains(stdout.String(), "  "+b.name+" ") {
			t.Errorf("usage lacks %s:\n%s", b.name, stdout.String())
		}
	}
	// Every benchmark bench.Run knows is listed (the list and Run's switch are kept apart).
	err := bench.Run(t.Context(), nil, &bytes.Buffer{}, &bytes.Buffer{})
	names := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(err), "usage: bench "), " [flags]")
	for _, name := range strings.Split(names, "|") {
		if !known(name) {
			t.Errorf("bench.Run knows %q, the usage does not list it (from %q)", name, err)
		}
	}
	if strings.Contains(stdout.String(), "child") {
		t.Errorf("usage lists the child processes:\n%s", stdout.String())
	}
}
