package natsconn_test

import (
	"crypto/tls"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"

	"github.com/offboard-dev/genesys-deactivator/internal/natsconn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs an in-process nats-server configured by opts on a random
// loopback port and returns the URL to reach it. Host, Port, NoLog and NoSigs
// are filled in. The server shuts down when the test and its subtests end.
func startServer(t testing.TB, opts *server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready after 10s")
	}
	// nats:// even for TLS servers: the client upgrades when the server's INFO requires TLS.
	return "nats://" + s.Addr().String()
}

// writeFile writes content to a file called name in a fresh temporary
// folder and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// missingFile returns a path where no file exists.
func missingFile(t testing.TB) string {
	return filepath.Join(t.TempDir(), "missing")
}

// closedURL returns a loopback URL where nothing listens.
func closedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "nats://" + addr
}

// assertNoSecret fails the test if err's text contains any of secrets.
func assertNoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}

// authCase is one Connect attempt: wantErr is "" for success, else a
// fragment of the expected error (compared case-insensitively). secrets must
// not appear in the error.
type authCase struct {
	name    string
	opts    natsconn.Options
	wantErr string
	secrets []string
}

// runAuthCases runs each case as a parallel subtest against servers the
// caller started. A successful connection must use TLS exactly when the case
// gives a CA file: every TLS server here needs one, and no other server
// offers TLS.
func runAuthCases(t *testing.T, tests []authCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, err := tt.opts.Connect()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer nc.Close()
				if err := nc.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				if _, err := nc.TLSConnectionState(); (err == nil) != (tt.opts.CAFile != "") {
					t.Errorf("TLS in use = %t, want %t", err == nil, tt.opts.CAFile != "")
				}
				return
			}
			if err == nil {
				nc.Close()
				t.Fatalf("Connect succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tt.wantErr)) {
				t.Errorf("Connect error = %q, want it to contain %q", err, tt.wantErr)
			}
			assertNoSecret(t, err, tt.secrets...)
		})
	}
}

const errAuth = "authorization violation"

func TestConnectUserPassword(t *testing.T) {
	t.Parallel()
	const user, password, wrong = "worker", "pw-right-7f3a", "pw-wrong-91c2"
	url := startServer(t, &server.Options{Username: user, Password: password})
	file := writeFile(t, "password", password+"\n") // as `echo` writes it: the newline must go
	wrongFile := writeFile(t, "password", wrong+"\n")
	tests := []authCase{
		{"inline", natsconn.Options{URL: url, User: user, Password: password}, "", nil},
		{"file with trailing newline", natsconn.Options{URL: url, User: user, PasswordFile: file}, "", nil},
		{"wrong inline", natsconn.Options{URL: url, User: user, Password: wrong}, errAuth, []string{wrong, password}},
		{"wrong from file", natsconn.Options{URL: url, User: user, PasswordFile: wrongFile}, errAuth, []string{wrong, password}},
		{"wrong user", natsconn.Options{URL: url, User: "intruder", Password: password}, errAuth, []string{password}},
		{"no credentials", natsconn.Options{URL: url}, errAuth, nil},
	}
	runAuthCases(t, tests)
}

func TestConnectToken(t *testing.T) {
	t.Parallel()
	const token, wrong = "tok-right-5d1e", "tok-wrong-0b8f"
	url := startServer(t, &server.Options{Authorization: token})
	file := writeFile(t, "token", token+"\n")
	wrongFile := writeFile(t, "token", wrong+"\n")
	tests := []authCase{
		{"inline", natsconn.Options{URL: url, Token: token}, "", nil},
		{"file with trailing newline", natsconn.Options{URL: url, TokenFile: file}, "", nil},
		{"wrong inline", natsconn.Options{URL: url, Token: wrong}, errAuth, []string{wrong, token}},
		{"wrong from file", natsconn.Options{URL: url, TokenFile: wrongFile}, errAuth, []string{wrong, token}},
		{"no credentials", natsconn.Options{URL: url}, errAuth, nil},
	}
	runAuthCases(t, tests)
}

func TestConnectNKey(t *testing.T) {
	t.Parallel()
	user := newNKey(t, nkeys.CreateUser)
	url := startServer(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: publicKey(t, user)}}})
	seed := seedOf(t, user)
	stranger := newNKey(t, nkeys.CreateUser)
	strangerSeed := seedOf(t, stranger)
	tests := []authCase{
		{"seed file", natsconn.Options{URL: url, NKeySeedFile: writeFile(t, "user.nk", seed+"\n")}, "", nil},
		{"seed of an unknown user", natsconn.Options{URL: url, NKeySeedFile: writeFile(t, "user.nk", strangerSeed)}, errAuth, []string{strangerSeed, seed}},
		{"not a seed", natsconn.Options{URL: url, NKeySeedFile: writeFile(t, "user.nk", "SUnot-a-seed-4c2b\n")}, "--nats-nkey: cannot use the seed in", []string{"SUnot-a-seed-4c2b"}},
		{"no credentials", natsconn.Options{URL: url}, errAuth, nil},
	}
	runAuthCases(t, tests)
}

func TestConnectTLS(t *testing.T) {
	t.Parallel()
	ca, rogue := newTestCA(t, "test"), newTestCA(t, "rogue")
	srv, client, rogueClient := ca.serverCert(), ca.clientCert(), rogue.clientCert()
	tlsURL := startServer(t, &server.Options{TLSConfig: genTLSConfig(t, &server.TLSConfigOpts{CertFile: srv.CertFile, KeyFile: srv.KeyFile})})
	mtlsURL := startServer(t, &server.Options{TLSVerify: true, TLSConfig: genTLSConfig(t, &server.TLSConfigOpts{
		CertFile: srv.CertFile, KeyFile: srv.KeyFile, CaFile: ca.File, Verify: true,
	})})
	withCert := func(o natsconn.Options, c certPair) natsconn.Options {
		o.CertFile, o.KeyFile = c.CertFile, c.KeyFile
		return o
	}
	const unknownCA, refused = "certificate signed by unknown authority", "tls"
	tests := []authCase{
		{"custom CA, nats:// upgraded", natsconn.Options{URL: tlsURL, CAFile: ca.File}, "", nil},
		{"custom CA, tls://", natsconn.Options{URL: strings.Replace(tlsURL, "nats://", "tls://", 1), CAFile: ca.File}, "", nil},
		{"CA that did not sign the server cert", natsconn.Options{URL: tlsURL, CAFile: rogue.File}, unknownCA, nil},
		{"system roots only", natsconn.Options{URL: tlsURL}, "certificate", nil},
		{"mutual TLS", withCert(natsconn.Options{URL: mtlsURL, CAFile: ca.File}, client), "", nil},
		// In TLS 1.3 the server checks the client cert after the client's handshake is done, so the
		// client sees either the server's "certificate required" alert or a closed connection.
		{"mutual TLS without client cert", natsconn.Options{URL: mtlsURL, CAFile: ca.File}, refused, nil},
		// crypto/tls withholds a client cert whose issuer the server did not ask for, so the server sees none.
		{"mutual TLS, client cert from another CA", withCert(natsconn.Options{URL: mtlsURL, CAFile: ca.File}, rogueClient), refused, nil},
		{"mutual TLS, CA that did not sign the server cert", withCert(natsconn.Options{URL: mtlsURL, CAFile: rogue.File}, client), unknownCA, nil},
	}
	runAuthCases(t, tests)
}

func genTLSConfig(t testing.TB, opts *server.TLSConfigOpts) *tls.Config {
	t.Helper()
	tc, err := server.GenTLSConfig(opts)
	if err != nil {
		t.Fatalf("server TLS config: %v", err)
	}
	return tc
}

// Secrets used in the Validate and leak tables; no error may contain them.
const (
	urlPassword = "url-pw-3e9d"
	urlToken    = "url-tok-6a2c"
	inlinePass  = "inline-pw-8b4f"
	inlineToken = "inline-tok-1d7e"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "secret", "file-secret-2c5a\n")
	missing := missingFile(t)
	tests := []struct {
		name    string
		opts    natsconn.Options
		wantErr string // "" for valid; else a fragment of the error
	}{
		{"zero value", natsconn.Options{}, ""},
		{"user and password", natsconn.Options{User: "u", Password: inlinePass}, ""},
		{"user and password file", natsconn.Options{User: "u", PasswordFile: file}, ""},
		{"token file", natsconn.Options{TokenFile: file}, ""},
		{"nkey", natsconn.Options{NKeySeedFile: file}, ""},
		{"creds", natsconn.Options{CredsFile: file}, ""},
		{"TLS with client cert", natsconn.Options{CAFile: file, CertFile: file, KeyFile: file}, ""},
		{"two URLs", natsconn.Options{URL: "nats://a:4222, tls://b:4222"}, ""},

		{"user/password and token", natsconn.Options{User: "u", Password: inlinePass, Token: inlineToken}, "choose one NATS authentication method"},
		{"token file and nkey", natsconn.Options{TokenFile: file, NKeySeedFile: file}, "choose one NATS authentication method"},
		{"nkey and creds", natsconn.Options{NKeySeedFile: file, CredsFile: file}, "choose one NATS authentication method"},
		{"password without user", natsconn.Options{Password: inlinePass}, "a NATS password needs --nats-user"},
		{"password file without user", natsconn.Options{PasswordFile: file}, "a NATS password needs --nats-user"},
		{"password inline and file", natsconn.Options{User: "u", Password: inlinePass, PasswordFile: file}, "either inline or as a file, not both"},
		{"token inline and file", natsconn.Options{Token: inlineToken, TokenFile: file}, "either inline or as a file, not both"},
		{"cert without key", natsconn.Options{CertFile: file}, "--nats-cert and --nats-key go together"},
		{"key without cert", natsconn.Options{KeyFile: file}, "--nats-cert and --nats-key go together"},
		{"missing password file", natsconn.Options{User: "u", PasswordFile: missing}, "--nats-password-file: cannot read " + missing},
		{"missing token file", natsconn.Options{TokenFile: missing}, "--nats-token-file: cannot read " + missing},
		{"missing nkey seed", natsconn.Options{NKeySeedFile: missing}, "--nats-nkey: cannot read " + missing},
		{"missing creds", natsconn.Options{CredsFile: missing}, "--nats-creds: cannot read " + missing},
		{"missing CA", natsconn.Options{CAFile: missing}, "--nats-ca: cannot read " + missing},
		{"missing cert", natsconn.Options{CertFile: missing, KeyFile: file}, "--nats-cert: cannot read " + missing},
		{"missing key", natsconn.Options{CertFile: file, KeyFile: missing}, "--nats-key: cannot read " + missing},

		{"URL with user and password", natsconn.Options{URL: "nats://u:" + urlPassword + "@127.0.0.1:4222"}, "--nats-url must not carry credentials"},
		{"URL with token", natsconn.Options{URL: "nats://" + urlToken + "@127.0.0.1:4222"}, "--nats-url must not carry credentials"},
		{"second URL with password", natsconn.Options{URL: "nats://a:4222,nats://u:" + urlPassword + "@b:4222"}, "--nats-url must not carry credentials"},
		{"URL without scheme, with password", natsconn.Options{URL: "u:" + urlPassword + "@127.0.0.1:4222"}, "is not a URL like nats://host:4222"},
		{"URL with empty host and token", natsconn.Options{URL: "nats://" + urlToken + "@"}, "is not a URL like nats://host:4222"},
		{"URL without host", natsconn.Options{URL: "nats://"}, `--nats-url: "nats://" is not a URL like nats://host:4222`},
		{"not a URL", natsconn.Options{URL: "localhost"}, `--nats-url: "localhost" is not a URL like nats://host:4222`},
		{"URL with a bad port", natsconn.Options{URL: "nats://127.0.0.1:port"}, "is not a URL like nats://host:4222"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.wantErr)
			}
			assertNoSecret(t, err, urlPassword, urlToken, inlinePass, inlineToken, "file-secret-2c5a")
		})
	}
}

// The wrong-secret failures (password inline and from a file, token inline
// and from a file, NKey seed, creds) are checked in the TestConnect* tables,
// against servers that refuse them. These are the failures that need no server.
func TestConnectErrorsHoldNoSecret(t *testing.T) {
	t.Parallel()
	down := closedURL(t)
	host := strings.TrimPrefix(down, "nats://")
	passFile := writeFile(t, "password", "file-pw-4e0c\n")
	tokenFile := writeFile(t, "token", "file-tok-9a3b\n")
	tests := []struct {
		name    string
		opts    natsconn.Options
		wantErr string
	}{
		{"unreachable, inline password", natsconn.Options{URL: down, User: "u", Password: inlinePass}, "connect to NATS at " + down + ": "},
		{"unreachable, password file", natsconn.Options{URL: down, User: "u", PasswordFile: passFile}, "connect to NATS at " + down + ": "},
		{"unreachable, inline token", natsconn.Options{URL: down, Token: inlineToken}, "connect to NATS at " + down + ": "},
		{"unreachable, token file", natsconn.Options{URL: down, TokenFile: tokenFile}, "connect to NATS at " + down + ": "},
		{"unreachable, two URLs", natsconn.Options{URL: down + ", " + down, Token: inlineToken}, "connect to NATS at " + down + "," + down + ": "},
		{"URL with user and password", natsconn.Options{URL: "nats://u:" + urlPassword + "@" + host}, "--nats-url must not carry credentials"},
		{"URL with token", natsconn.Options{URL: "nats://" + urlToken + "@" + host}, "--nats-url must not carry credentials"},
		{"URL without scheme, with password", natsconn.Options{URL: "u:" + urlPassword + "@" + host}, `--nats-url: "[redacted]@` + host + `" is not a URL`},
		// url.Parse reads the host as "localhost:1", so this is not caught as credentials; the error must still hide them.
		{"URL whose password holds a slash", natsconn.Options{URL: "nats://localhost:1/" + urlPassword + "@" + host}, "connect to NATS at nats://[redacted]@" + host + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			nc, err := tt.opts.Connect()
			if err == nil {
				nc.Close()
				t.Fatal("Connect succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Connect error = %q, want it to contain %q", err, tt.wantErr)
			}
			assertNoSecret(t, err, inlinePass, inlineToken, urlPassword, urlToken, "file-pw-4e0c", "file-tok-9a3b")
		})
	}
}

// flagEnv maps every flag RegisterFlags adds to the variable it defaults from.
var flagEnv = map[string]string{
	"nats-url":           "NATS_URL",
	"nats-user":          "NATS_USER",
	"nats-password":      "NATS_PASSWORD",
	"nats-password-file": "NATS_PASSWORD_FILE",
	"nats-token":         "NATS_TOKEN",
	"nats-token-file":    "NATS_TOKEN_FILE",
	"nats-nkey":          "NATS_NKEY_SEED_FILE",
	"nats-creds":         "NATS_CREDS",
	"nats-ca":            "NATS_CA",
	"nats-cert":          "NATS_CERT",
	"nats-key":           "NATS_KEY",
	"nats-inbox-prefix":  "NATS_INBOX_PREFIX",
}

// registerFlags registers o's flags on a fresh flag set that writes to out.
func registerFlags(o *natsconn.Options, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(out)
	o.RegisterFlags(fs)
	return fs
}

func TestRegisterFlagsUsage(t *testing.T) {
	t.Parallel()
	var o natsconn.Options
	fs := registerFlags(&o, io.Discard)
	seen := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		seen[f.Name] = true
		env, ok := flagEnv[f.Name]
		if !ok {
			t.Errorf("flag --%s is not in flagEnv; add it with its variable", f.Name)
			return
		}
		if strings.TrimSpace(f.Usage) == "" || !strings.Contains(f.Usage, "(env "+env+")") {
			t.Errorf("usage of --%s = %q, want a description ending in (env %s)", f.Name, f.Usage, env)
		}
	})
	for name := range flagEnv {
		if !seen[name] {
			t.Errorf("flag --%s is not registered", name)
		}
	}
}

// t.Setenv rules out t.Parallel here.
func TestRegisterFlagsReadsEnvironment(t *testing.T) {
	const password, token = "env-pw-0e1f", "env-tok-7c2d"
	for _, env := range flagEnv {
		t.Setenv(env, "env-"+strings.ToLower(env))
	}
	t.Setenv("NATS_PASSWORD", password)
	t.Setenv("NATS_TOKEN", token)
	var got natsconn.Options
	var usage strings.Builder
	fs := registerFlags(&got, &usage)
	if err := fs.Parse([]string{"--nats-user", "flag-user"}); err != nil {
		t.Fatal(err)
	}
	want := natsconn.Options{
		URL: "env-nats_url", User: "flag-user", Password: password, PasswordFile: "env-nats_password_file",
		Token: token, TokenFile: "env-nats_token_file", NKeySeedFile: "env-nats_nkey_seed_file",
		CredsFile: "env-nats_creds", CAFile: "env-nats_ca", CertFile: "env-nats_cert", KeyFile: "env-nats_key",
		InboxPrefix: "env-nats_inbox_prefix",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options from env and flags (-want +got):\n%s", diff)
	}

	// A mistyped flag prints the usage, defaults included, to stderr.
	if err := fs.Parse([]string{"--nats-pasword", "x"}); err == nil {
		t.Fatal("Parse accepted an unknown flag")
	}
	for _, secret := range []string{password, token} {
		if strings.Contains(usage.String(), secret) {
			t.Errorf("usage output shows the secret %q:\n%s", secret, usage.String())
		}
	}
}

// t.Setenv rules out t.Parallel here.
func TestRegisterFlagsDefaults(t *testing.T) {
	for _, env := range flagEnv {
		t.Setenv(env, "")
	}
	var got natsconn.Options
	if err := registerFlags(&got, io.Discard).Parse(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(natsconn.Options{URL: natsconn.DefaultURL}, got); diff != "" {
		t.Errorf("options without env or flags (-want +got):\n%s", diff)
	}
}
