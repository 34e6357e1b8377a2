// Package natsconn holds the NATS connection settings both commands share:
// the server URL, every authentication method NATS offers (user and
// password, token, NKey, credentials file) and TLS with a custom CA and a
// client certificate. Secrets may come from files, so they need not appear in
// a process list or an environment dump.
package natsconn

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultURL is used when neither the flag nor NATS_URL says otherwise.
const DefaultURL = "nats://127.0.0.1:4222"

// Options are NATS connection settings. The zero value connects to
// DefaultURL without authentication.
type Options struct {
	URL          string // server URL(s), comma separated. Defaults to $NATS_URL, then DefaultURL.
	User         string // user for user/password authentication
	Password     string // password; prefer PasswordFile
	PasswordFile string // file holding the password
	Token        string // token; prefer TokenFile
	TokenFile    string // file holding the token
	NKeySeedFile string // file holding an NKey seed
	CredsFile    string // a .creds file (JWT and NKey seed)
	CAFile       string // PEM CA bundle that signed the server's certificate
	CertFile     string // client certificate (PEM) for mutual TLS
	KeyFile      string // client key (PEM) for mutual TLS
	Name         string // connection name shown by the server
	// InboxPrefix starts the subject of every reply this connection receives (requests, pull
	// fetches, KV watches, ordered consumers). Defaults to InboxPrefixFor(User); see Inbox.
	InboxPrefix string
}

// InboxPrefixFor is the inbox prefix of a connection as NATS user user: "_INBOX.<user>", or ""
// (nats.go's own "_INBOX.<random>") without a user. deploy/nats-accounts.conf lets each user
// subscribe to its own prefix only ("_INBOX.worker.>"), so that no role reads the replies meant
// for another (job payloads, job status, guard state); "_INBOX.<user>" stays inside "_INBOX.>",
// so a server config that still allows "_INBOX.>" keeps working.
func InboxPrefixFor(user string) string {
	if user == "" {
		return ""
	}
	return "_INBOX." + user
}

// Inbox is the inbox prefix the connection uses: InboxPrefix, else InboxPrefixFor(User). With
// token, NKey or creds authentication the server's user name is unknown here, so the default
// is nats.go's; set InboxPrefix to what the server's permissions allow.
func (o *Options) Inbox() string {
	return cmp.Or(o.InboxPrefix, InboxPrefixFor(o.User))
}

// RegisterFlags adds the --nats-* flags to fs, with defaults from the
// environment (NATS_URL, NATS_USER, NATS_PASSWORD, NATS_PASSWORD_FILE,
// NATS_TOKEN, NATS_TOKEN_FILE, NATS_NKEY_SEED_FILE, NATS_CREDS, NATS_CA,
// NATS_CERT, NATS_KEY, NATS_INBOX_PREFIX).
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	env := os.Getenv
	fs.StringVar(&o.URL, "nats-url", cmp.Or(env("NATS_URL"), DefaultURL), "NATS server URL(s), comma separated (env NATS_URL)")
	fs.StringVar(&o.User, "nats-user", env("NATS_USER"), "NATS user for user/password authentication (env NATS_USER)")
	fs.StringVar(&o.Password, "nats-password", "", "NATS password; prefer --nats-password-file (env NATS_PASSWORD)")
	fs.StringVar(&o.PasswordFile, "nats-password-file", env("NATS_PASSWORD_FILE"), "file holding the NATS password (env NATS_PASSWORD_FILE)")
	fs.StringVar(&o.Token, "nats-token", "", "NATS token; prefer --nats-token-file (env NATS_TOKEN)")
	fs.StringVar(&o.TokenFile, "nats-token-file", env("NATS_TOKEN_FILE"), "file holding the NATS token (env NATS_TOKEN_FILE)")
	fs.StringVar(&o.NKeySeedFile, "nats-nkey", env("NATS_NKEY_SEED_FILE"), "file holding an NKey seed for NKey authentication (env NATS_NKEY_SEED_FILE)")
	fs.StringVar(&o.CredsFile, "nats-creds", env("NATS_CREDS"), "NATS credentials file (JWT and seed) (env NATS_CREDS)")
	fs.StringVar(&o.CAFile, "nats-ca", env("NATS_CA"), "PEM file of the CA that signed the NATS server's certificate (env NATS_CA)")
	fs.StringVar(&o.CertFile, "nats-cert", env("NATS_CERT"), "client certificate (PEM) for mutual TLS with NATS (env NATS_CERT)")
	fs.StringVar(&o.KeyFile, "nats-key", env("NATS_KEY"), "client key (PEM) for mutual TLS with NATS (env NATS_KEY)")
	fs.StringVar(&o.InboxPrefix, "nats-inbox-prefix", env("NATS_INBOX_PREFIX"), "subject prefix of this connection's reply inboxes; defaults to _INBOX.<nats-user> with --nats-user, else _INBOX; the server must let the user subscribe to <prefix>.> (env NATS_INBOX_PREFIX)")
	// Inline secrets take their environment value only now, not as flag
	// defaults: the usage text printed on any flag error shows defaults.
	o.Password, o.Token = env("NATS_PASSWORD"), env("NATS_TOKEN")
}

// Validate checks that the settings make sense together, without
// connecting. Its errors never contain a secret.
func (o *Options) Validate() error {
	methods := 0
	for _, set := range []bool{o.User != "", o.Token != "" || o.TokenFile != "", o.NKeySeedFile != "", o.CredsFile != ""} {
		if set {
			methods++
		}
	}
	var errs []error
	if methods > 1 {
		errs = append(errs, errors.New("choose one NATS authentication method: user/password, token, nkey or creds"))
	}
	if (o.Password != "" || o.PasswordFile != "") && o.User == "" {
		errs = append(errs, errors.New("a NATS password needs --nats-user"))
	}
	if o.Password != "" && o.PasswordFile != "" || o.Token != "" && o.TokenFile != "" {
		errs = append(errs, errors.New("give a NATS secret either inline or as a file, not both"))
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("--nats-cert and --nats-key go together"))
	}
	for _, f := range []struct{ flag, path string }{
		{"--nats-password-file", o.PasswordFile}, {"--nats-token-file", o.TokenFile}, {"--nats-nkey", o.NKeySeedFile},
		{"--nats-creds", o.CredsFile}, {"--nats-ca", o.CAFile}, {"--nats-cert", o.CertFile}, {"--nats-key", o.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: cannot read %s: %v", f.flag, f.path, errors.Unwrap(err)))
		}
	}
	if p := o.Inbox(); p != "" && !inboxRE.MatchString(p) {
		errs = append(errs, fmt.Errorf("NATS inbox prefix %q: want dot-separated tokens without spaces or wildcards; set --nats-inbox-prefix", p))
	}
	for _, u := range strings.Split(cmp.Or(o.URL, DefaultURL), ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Host == "" {
			errs = append(errs, fmt.Errorf("--nats-url: %q is not a URL like nats://host:4222", redactURL(u)))
		} else if pu.User != nil {
			errs = append(errs, errors.New("--nats-url must not carry credentials; use --nats-user and --nats-password-file"))
		}
	}
	return errors.Join(errs...)
}

// NATSOptions turns the settings into nats.Options. It reads secret files.
func (o *Options) NATSOptions() ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(cmp.Or(o.Name, "genesys-deactivator")),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
	}
	switch {
	case o.User != "":
		pw, err := secret(o.Password, o.PasswordFile, "--nats-password-file")
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(o.User, pw))
	case o.Token != "" || o.TokenFile != "":
		tok, err := secret(o.Token, o.TokenFile, "--nats-token-file")
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
	case o.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: cannot use the seed in %s", o.NKeySeedFile)
		}
		opts = append(opts, opt)
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if p := o.Inbox(); p != "" {
		opts = append(opts, nats.CustomInboxPrefix(p))
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	return opts, nil
}

// Connect validates the settings and connects. Errors name the server and
// the method, never a secret.
func (o *Options) Connect(extra ...nats.Option) (*nats.Conn, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	opts, err := o.NATSOptions()
	if err != nil {
		return nil, err
	}
	u := cmp.Or(o.URL, DefaultURL)
	nc, err := nats.Connect(u, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %s", redactURL(u), scrub(err.Error(), o))
	}
	return nc, nil
}

// inboxRE matches a subject prefix without wildcards or white space.
var inboxRE = regexp.MustCompile(`^[^.*>\s]+(\.[^.*>\s]+)*$`)

// secret returns an inline secret or the trimmed contents of its file.
func secret(inline, file, flagName string) (string, error) {
	if file == "" {
		return inline, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s: %v", flagName, file, errors.Unwrap(err))
	}
	return strings.TrimSpace(string(data)), nil
}

// redactURL drops any user info from a URL, or from each URL of a comma
// separated list, for messages. It cuts at the last "@" itself: url.Parse
// finds no user info in "user:pass@host" (no scheme) or
// "nats://user:1/pass@host", URL.Redacted keeps the token in
// "nats://token@", and a list does not parse at all.
func redactURL(raw string) string {
	urls := strings.Split(raw, ",")
	for i, u := range urls {
		u = strings.TrimSpace(u)
		if at := strings.LastIndex(u, "@"); at >= 0 {
			start := 0
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				start = s + len("://")
			}
			u = u[:start] + "[redacted]" + u[at:]
		}
		urls[i] = u
	}
	return strings.Join(urls, ",")
}

// scrub removes inline secrets from a message, in case a library echoes them.
func scrub(msg string, o *Options) string {
	for _, s := range []string{o.Password, o.Token} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}
