package relaycmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

	"go.uber.org/zap"

	"github.com/offboard-dev/genesys-deactivator/internal/envdefault"
	"github.com/offboard-dev/genesys-deactivator/internal/httpserve"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// sinkConfig is `relay sink`: a webhook receiver for development, demos and the container tests.
type sinkConfig struct {
	Listen     string
	SecretFile string
	SecretsEnv string
	Journal    string
	LogFormat  string
}

func newSinkFlags(c *sinkConfig, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("relay sink", `Usage: relay sink --secrets-env NAME | --secret-file FILE [flags]

A webhook receiver for development and tests, never for production: it verifies every delivery's
Standard Webhooks signature, prints one line per event, and keeps every event. POST any path but
/healthz and /events to deliver; GET /events lists what it kept (JSON); GET /healthz answers ok.
With --journal the events survive a restart.
`, stderr)
	fs.StringVar(&c.Listen, "listen", envdefault.String("GENESYS_SINK_LISTEN", "127.0.0.1:8090"), "address to listen on (env GENESYS_SINK_LISTEN)")
	fs.StringVar(&c.SecretFile, "secret-file", envdefault.String("GENESYS_SINK_SECRET_FILE", ""), "file of whsec_ secrets to verify with, whitespace separated (env GENESYS_SINK_SECRET_FILE)")
	fs.StringVar(&c.SecretsEnv, "secrets-env", envdefault.String("GENESYS_SINK_SECRETS_ENV", ""), "name of an environment variable holding whsec_ secrets, whitespace separated (env GENESYS_SINK_SECRETS_ENV)")
	fs.StringVar(&c.Journal, "journal", envdefault.String("GENESYS_SINK_JOURNAL", ""), "file every event is appended to, and reloaded from on start; empty keeps events in memory only (env GENESYS_SINK_JOURNAL)")
	fs.StringVar(&c.LogFormat, "log-format", envdefault.String("GENESYS_LOG_FORMAT", "json"), "json or console, for the sink's own log lines (env GENESYS_LOG_FORMAT)")
	return fs
}

// secrets reads the verification secrets; errors name the file or variable, never a secret.
func (c *sinkConfig) secrets(getenv func(string) string) ([]string, error) {
	var files []string
	if c.SecretFile != "" {
		files = []string{c.SecretFile}
	}
	out, err := readSecrets("--secret-file", files, "--secrets-env", c.SecretsEnv, getenv)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("set --secret-file or --secrets-env: the sink verifies every delivery")
	}
	return out, nil
}

func sinkCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c sinkConfig
	fs := newSinkFlags(&c, stderr)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	secrets, err := c.secrets(getenv)
	var sink *relay.Sink
	if err == nil {
		sink, err = relay.NewSink(secrets, stdout)
	}
	if err == nil && (fs.NArg() > 0 || c.Listen == "" || (c.LogFormat != "json" && c.LogFormat != "console")) {
		err = errors.New("unexpected arguments, or an empty --listen, or a --log-format other than json or console")
	}
	if err != nil {
		fmt.Fprintf(stderr, "relay sink: %v\n", err)
		return 2
	}
	log := (&common{LogFormat: c.LogFormat, LogLevel: "info"}).logger(stderr)
	defer log.Sync() //nolint:errcheck
	if err := serveSink(ctx, c, sink, log); err != nil {
		log.Error("sink stopped", zap.Error(err))
		return 1
	}
	return 0
}

// serveSink restores the journal, then serves the sink until ctx ends.
func serveSink(ctx context.Context, c sinkConfig, sink *relay.Sink, log *zap.Logger) error {
	if c.Journal != "" {
		f, err := os.OpenFile(c.Journal, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("--journal: %w", err)
		}
		defer f.Close()
		sound, err := sink.Restore(f)
		if err != nil {
			return fmt.Errorf("--journal %s: %w", c.Journal, err)
		}
		// A torn last line (killed mid-write) is dropped, not glued to the next event.
		if err := f.Truncate(sound); err != nil {
			return fmt.Errorf("--journal %s: %w", c.Journal, err)
		}
		sink.SetJournal(f)
		log.Info("journal restored", zap.String("file", c.Journal), zap.Int("events", sink.Received()))
	}
	stop, err := httpserve.Start(c.Listen, sinkHandler(sink), "the webhook sink", log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop()
	return nil
}

// sinkHandler routes /healthz and /events and hands every other path to the sink.
func sinkHandler(sink *relay.Sink) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Received int               `json:"received"`
			Events   []relay.SinkEvent `json:"events"`
		}{sink.Received(), sink.Events()})
	})
	mux.Handle("/", sink)
	return mux
}
