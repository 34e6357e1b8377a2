package ctl

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
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

func TestNATSUser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	seed, _ := ukp.Seed()
	akp, _ := nkeys.CreateAccount()
	claims := jwt.NewUserClaims(upub)
	claims.Name = "ops-alice"
	tok, err := claims.Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := jwt.FormatUserConfig(tok, seed)
	credsPath, seedPath := filepath.Join(dir, "u.creds"), filepath.Join(dir, "u.nk")
	if err := os.WriteFile(credsPath, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seedPath, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	claims.Name = ""
	anonTok, _ := claims.Encode(akp)
	anonCreds, _ := jwt.FormatUserConfig(anonTok, seed)
	anonPath := filepath.Join(dir, "anon.creds")
	if err := os.WriteFile(anonPath, anonCreds, 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"user":         natsUser(natsconn.Options{User: "operator", Password: "pw"}),
		"creds":        natsUser(natsconn.Options{CredsFile: credsPath}),
		"creds/noname": natsUser(natsconn.Options{CredsFile: anonPath}),
		"nkey":         natsUser(natsconn.Options{NKeySeedFile: seedPath}),
		"token":        natsUser(natsconn.Options{Token: "s3cret"}),
		"none":         natsUser(natsconn.Options{}),
		"bad creds":    natsUser(natsconn.Options{CredsFile: seedPath}),
	}
	want := map[string]string{"user": "operator", "creds": "ops-alice", "creds/noname": upub, "nkey": upub,
		"token": "token", "none": "anonymous", "bad creds": "creds"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("natsUser (-want +got):\n%s", diff)
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
