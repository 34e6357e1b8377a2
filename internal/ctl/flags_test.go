package ctl

import (
	"bytes"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

func TestEveryFlagHasUsageAndEveryCommandHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		fs := newFlagSet(c, &opts{}, io.Discard)
		fs.VisitAll(func(f *flag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s has no usage text", c.name, f.Name)
			}
		})
		for _, name := range []string{"prefix", "output", "nats-url", "nats-user", "timeout"} {
			if fs.Lookup(name) == nil {
				t.Errorf("%s has no --%s", c.name, name)
			}
		}
		if (fs.Lookup("operator") != nil) != c.changes {
			t.Errorf("%s: --operator present %t, changes %t", c.name, fs.Lookup("operator") != nil, c.changes)
		}
		var out, errOut bytes.Buffer
		args := append(strings.Fields(c.name), "--help")
		if code := Main(t.Context(), args, nil, &out, &errOut); code != ExitOK || !strings.Contains(out.String(), "Usage: genesysctl "+c.name) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"--help"}, nil, &out, io.Discard); code != ExitOK || !strings.Contains(out.String(), "dead purge") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
}

func TestHelpHidesSecretDefaults(t *testing.T) {
	t.Setenv("NATS_PASSWORD", "hunter2-secret")
	var out bytes.Buffer
	Main(t.Context(), []string{"status", "--help"}, nil, &out, io.Discard)
	if strings.Contains(out.String(), "hunter2-secret") {
		t.Errorf("usage shows the password from the environment:\n%s", out.String())
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args, pos []string
		output    string
	}{
		{[]string{"a", "--output", "json", "b"}, []string{"a", "b"}, "json"},
		{[]string{"--output=json", "a"}, []string{"a"}, "json"},
		{[]string{"a", "--", "--output", "b"}, []string{"a", "--output", "b"}, "text"},
		{nil, nil, "text"},
	} {
		o := &opts{}
		fs := newFlagSet(statusCommand(), o, io.Discard)
		pos, err := parseInterspersed(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || o.Output != tc.output {
			t.Errorf("%q: %q output %q %v; want %q output %q", tc.args, pos, o.Output, err, tc.pos, tc.output)
		}
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                  now.Add(-90 * time.Minute),
		"2026-11-26T08:00:00Z": time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC),
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-5m", "yesterday", "2026-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func TestReplayID(t *testing.T) {
	t.Parallel()
	if got := replayID("job-1", 2); got != "job-1.r2" {
		t.Errorf("replayID = %q", got)
	}
	long := strings.Repeat("x", jobs.MaxIDLength)
	a, b := replayID(long, 1), replayID(long, 2)
	if !validJobID(a) || !validJobID(b) || a == b || a != replayID(long, 1) {
		t.Errorf("replay ids of a long id: %q %q; want distinct, valid and stable", a, b)
	}
}

// The operator's name goes into replayed jobs and ops events: the job schema's rule for shown
// text applies (review L10: bidi controls and invisible characters make one name display as another).
func TestOperatorNameRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ali\u202Ece", "alice\u200B", "\uFEFFalice"} {
		var out, errOut bytes.Buffer
		code := Main(t.Context(), []string{"dead", "purge", "--yes", "--operator", name, "j-1"}, strings.NewReader(""), &out, &errOut)
		if code != ExitUsage || !strings.Contains(errOut.String(), "--operator: must not contain U+") {
			t.Errorf("--operator %q: exit %d, stderr %q; want %d naming the character", name, code, errOut.String(), ExitUsage)
		}
	}
}
