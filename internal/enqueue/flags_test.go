package enqueue_test

import (
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/offboard-dev/genesys-deactivator/internal/enqueue"
)

func TestEveryFlagHasUsage(t *testing.T) {
	t.Parallel()
	var cfg enqueue.Config
	fs := enqueue.NewFlagSet(&cfg, io.Discard)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("--%s has no usage text", f.Name)
		}
	})
	r := runMain(t, "", "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d", r.code)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !strings.Contains(r.stdout, "--"+f.Name+" ") && !strings.Contains(r.stdout, "--"+f.Name+"\n") {
			t.Errorf("--help does not show --%s", f.Name)
		}
	})
	if n < 20 {
		t.Errorf("only %d flags; the NATS flags are missing?", n)
	}
}

func TestUsageErrorsExitTwoAndPublishNothing(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := example("offboarding.csv")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "flag provided but not defined: -bogus"},
		{"stray argument", []string{"--file", good, "extra"}, `unexpected argument "extra"`},
		{"file and user", []string{"--file", good, "--user-id", "749007a2-9498-4ecd-a7b6-efb47f1f7160"}, "not both"},
		{"nothing", nil, "nothing to enqueue"},
		{"user-name and email", []string{"--user-name", "a@b.example", "--email", "c@d.example"}, "give one"},
		{"missing file", []string{"--file", filepath.Join(dir, "nope.csv")}, "nope.csv: no such file or directory"},
		{"bad format", []string{"--file", good, "--format", "xml"}, `--format "xml": want auto, csv or jsonl`},
		{"bad output", []string{"--file", good, "--output", "yaml"}, `--output "yaml"`},
		{"bad action", []string{"--file", good, "--action", "delete"}, `want "deactivate" or "reactivate"`},
		{"bad timeout", []string{"--file", good, "--timeout", "0s"}, "--timeout 0s: must be positive"},
		{"bad prefix", []string{"--file", good, "--prefix", "a b"}, "--prefix"},
		{"two NATS auth methods", []string{"--file", good, "--nats-user", "u", "--nats-token", "t"}, "choose one NATS authentication method"},
		{"unknown column", []string{"--file", write("typo.csv", "user_name,resaon\na@b.example,x\n")}, `typo.csv: line 1: header: unknown column "resaon"`},
		{"no identifier column", []string{"--file", write("noid.csv", "reason,ticket\nx,y\n")}, "no column names the user"},
		{"duplicate column", []string{"--file", write("dup.csv", "email,user_name\na@b.example,a@b.example\n")}, `columns "email" and "user_name" are the same column`},
		{"empty file", []string{"--file", write("empty.csv", "")}, "empty: want a header row"},
		{"header only", []string{"--file", write("header.csv", "user_name\n")}, "no rows to enqueue"},
		{"bad quoting", []string{"--file", write("quote.csv", "user_name\n\"a@b.example\n")}, "quote.csv: parse error on line 2"},
		{"invalid rows", []string{"--file", write("rows.csv", "user_name,id,dry_run\na@b.example,,maybe\nnot-an-email,,\n,xyz,\n")},
			"line 2: dry_run: must be true, false, yes, no, 1 or 0"},
		{"invalid jsonl", []string{"--file", write("rows.jsonl", "{\"email\":\"a@b.example\",\"colour\":\"red\"}\n\n[1]\n{\"user_name\":true}\n")},
			"line 1: colour: unknown member"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.run(t, "", tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
		})
	}
	if n := b.published(t); n != 0 {
		t.Errorf("%d jobs published, want 0", n)
	}
}

func TestInvalidRowsAreAllReported(t *testing.T) {
	t.Parallel()
	b := newBed(t)
	p := filepath.Join(t.TempDir(), "rows.jsonl")
	os.WriteFile(p, []byte("{\"email\":\"a@b.example\",\"colour\":\"red\"}\n\n[1]\n{\"user_name\":true}\n{\"id\":\"749007A2-9498-4ECD-A7B6-EFB47F1F7160\",\"user_id\":\"x\"}\n{\"external_id\":\"e1\"}\n"), 0o600)
	r := b.run(t, "", "--file", p)
	for _, want := range []string{
		"line 1: colour: unknown member",
		"line 3: must be a JSON object, not array",
		"line 4: user_name: must be a string, not bool",
		"line 5: user_id: given twice, as user_id and id",
		"enqueue: 4 of 5 rows are invalid; nothing published",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.code != 2 || b.published(t) != 0 {
		t.Errorf("exit %d, %d published; want 2 and none", r.code, b.published(t))
	}
}

const secret = "s3cr3t-Recognisable-7f9a"

// checkNoSecret fails if the secret appears in either output.
func checkNoSecret(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stdout, secret) || strings.Contains(r.stderr, secret) {
		t.Errorf("the secret appears in the output\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

func TestNoSecretInOutputWhenNATSFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachable := closedPort(t)
	refusing := authServer(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"token, unreachable", []string{"--nats-url", unreachable, "--nats-token", secret}},
		{"password file, unreachable", []string{"--nats-url", unreachable, "--nats-user", "u", "--nats-password-file", pwFile}},
		{"token, refused", []string{"--nats-url", refusing, "--nats-token", secret}},
		{"password file, refused", []string{"--nats-url", refusing, "--nats-user", "u", "--nats-password-file", pwFile}},
		{"password, refused", []string{"--nats-url", refusing, "--nats-user", "u", "--nats-password", secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runMain(t, "", append(tc.args, "--user-name", "a@b.example", "--wait")...)
			if r.code != 1 || !strings.Contains(r.stderr, "connect to NATS") {
				t.Errorf("exit %d, want 1 with a connect error\nstderr:\n%s", r.code, r.stderr)
			}
			checkNoSecret(t, r)
		})
	}
}

func TestNoSecretInUsage(t *testing.T) { // not parallel: it sets the environment
	t.Setenv("NATS_PASSWORD", secret)
	t.Setenv("NATS_TOKEN", secret)
	for _, args := range [][]string{{"--help"}, {"--bogus"}, {"--user-name", "a@b.example", "--nats-user", "u"}, {"--timeout", "x"}} {
		r := runMain(t, "", args...)
		checkNoSecret(t, r)
	}
}

// closedPort is the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "nats://" + addr
}

// authServer starts a NATS server that accepts only other credentials.
func authServer(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, Authorization: "another-token", NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	return s.ClientURL()
}
