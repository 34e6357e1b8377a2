package ingresscmd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/offboard-dev/genesys-deactivator/internal/natstest"
	"github.com/offboard-dev/genesys-deactivator/internal/testbed"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, natstest.IgnoreSourceSetup()) }

func TestEveryFlagHasUsage(t *testing.T) {
	t.Parallel()
	n := 0
	newRunFlags(&runConfig{}, io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("--%s has no usage text", f.Name)
		}
		if !strings.HasPrefix(f.Name, "nats-") && !strings.Contains(f.Usage, "(env ") {
			t.Errorf("--%s does not name its environment variable", f.Name)
		}
	})
	if n < 20 {
		t.Errorf("only %d flags", n)
	}
	for _, args := range [][]string{{"--help"}, {"run", "--help"}} {
		var out bytes.Buffer
		if code := Main(t.Context(), args, &out, &out); code != 0 || !strings.Contains(out.String(), "Usage: ingress") {
			t.Errorf("%v: exit %d\n%s", args, code, out.String())
		}
	}
	var out bytes.Buffer
	if code := Main(t.Context(), []string{"serve"}, &out, &out); code != 2 || !strings.Contains(out.String(), `unknown command "serve"`) {
		t.Errorf("unknown command: %d %s", code, out.String())
	}
}

// files writes a config with one webhook source, its secret and a TLS key pair; it returns
// their paths and the secret.
type files struct{ config, secret, cert, key, secretValue string }

func writeFiles(t *testing.T) files {
	t.Helper()
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	f := files{config: filepath.Join(dir, "ingress.json"), secret: filepath.Join(dir, "soar.secret"),
		cert: filepath.Join(dir, "tls.crt"), key: filepath.Join(dir, "tls.key"),
		secretValue: audit.SecretPrefix + base64.StdEncoding.EncodeToString(key)}
	write(t, f.secret, f.secretValue+"\n")
	write(t, f.config, fmt.Sprintf(`{"sources":[{"name":"soar","kind":"standard_webhooks","secret_files":[%q]}]}`, f.secret))
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ingress.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &pk.PublicKey, pk)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	write(t, f.cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, f.key, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return f
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfigurationExits2(t *testing.T) {
	t.Parallel()
	f := writeFiles(t)
	dir := t.TempDir()
	unknown, missing, empty := filepath.Join(dir, "unknown.json"), filepath.Join(dir, "missing.json"), filepath.Join(dir, "empty.secret")
	write(t, unknown, `{"sources":[{"name":"soar","kind":"standard_webhooks","secret_files":["x"],"secret":"hunter2"}]}`)
	write(t, empty, "\n")
	write(t, missing, fmt.Sprintf(`{"sources":[{"name":"soar","kind":"standard_webhooks","secret_files":[%q,%q]}]}`, filepath.Join(dir, "nope"), empty))
	tls := []string{"--tls-cert-file", f.cert, "--tls-key-file", f.key}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{tls, "set --config"},
		{[]string{"--config", f.config}, "set --tls-cert-file and --tls-key-file, or --insecure-http"},
		{append([]string{"--config", f.config, "--insecure-http"}, tls...), "exclude each other"},
		{[]string{"--config", f.config, "--tls-cert-file", f.key, "--tls-key-file", f.cert}, "--tls-cert-file/--tls-key-file"},
		{append([]string{"--config", unknown}, tls...), `unknown member "secret"`},
		{append([]string{"--config", missing}, tls...), "nope: no such file"},
		{append([]string{"--config", missing}, tls...), "empty.secret: empty"},
		{append([]string{"--config", f.config, "--shutdown-timeout", "0s"}, tls...), "must be positive"},
		{append([]string{"--config", f.config, "--log-format", "xml"}, tls...), "--log-format"},
		{append([]string{"--config", f.config, "extra"}, tls...), "unexpected arguments"},
	} {
		var out bytes.Buffer
		code := Main(t.Context(), append([]string{"run"}, tc.args...), &out, &out)
		if code != 2 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, out.String())
		}
		if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), f.secretValue) {
			t.Errorf("%v: a secret in the output:\n%s", tc.args, out.String())
		}
	}
}

// start runs `ingress run` with args against the bed's NATS until the test ends.
func start(t *testing.T, bed *testbed.T, args ...string) (addr, admin string) {
	t.Helper()
	addr, admin, _ = startStoppable(t, bed, nil, args...)
	return addr, admin
}

// startStoppable is start, also returning a function that ends ctx and waits for run's error.
// hook, when set, hears every log entry.
func startStoppable(t *testing.T, bed *testbed.T, hook func(zapcore.Entry), args ...string) (addr, admin string, stop func() error) {
	t.Helper()
	var c runConfig
	fs := newRunFlags(&c, io.Discard)
	if err := fs.Parse(append([]string{"--nats-url", bed.URL, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.load(fs.Args())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		log := zaptest.NewLogger(t)
		if hook != nil {
			log = log.WithOptions(zap.Hooks(func(e zapcore.Entry) error { hook(e); return nil }))
		}
		done <- run(ctx, c, cfg, log, func(a, b string) { addrs <- [2]string{a, b} })
	}()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return a[0], a[1], stop
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return "", "", nil
}

func signedPost(t *testing.T, client *http.Client, url, secret, id, body string) (int, ingress.Answer) {
	t.Helper()
	signer, err := audit.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	now := time.Now()
	req.Header.Set(audit.HeaderWebhookID, id)
	req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(audit.HeaderWebhookSignature, signer.Sign(id, now, []byte(body)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a ingress.Answer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

func TestServesTLSAndAdmin(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, testbed.Config{})
	f := writeFiles(t)
	addr, admin := start(t, bed, "--config", f.config, "--tls-cert-file", f.cert, "--tls-key-file", f.key)
	pem, _ := os.ReadFile(f.cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	user := bed.ActiveUsers(1)[0]
	code, a := signedPost(t, client, "https://"+addr+"/v1/sources/soar", f.secretValue, "tls-1",
		`{"action":"deactivate","user":{"user_name":"`+user.UserName+`"}}`)
	if code != 200 || a.Accepted != 1 {
		t.Fatalf("over TLS: %d %+v", code, a)
	}
	if n := bed.JobsLeft(); n != 1 {
		t.Errorf("%d jobs stored", n)
	}
	// plain HTTP to the TLS port is refused
	if resp, err := http.Post("http://"+addr+"/v1/sources/soar", "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP accepted on the TLS port")
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), []string{"healthcheck", "--url", "http://" + admin + path}, &out, &errOut); code != 0 {
			t.Errorf("healthcheck %s: exit %d %s", path, code, errOut.String())
		}
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`genesys_ingress_requests_total{code="200",source="soar"} 1`, `genesys_ingress_events_total{result="accepted",source="soar"} 1`,
		"genesys_ingress_ready 1", "genesys_ingress_publish_seconds_count 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestInsecureHTTPAndNotReady(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, testbed.Config{NoProvision: true})
	f := writeFiles(t)
	addr, admin := start(t, bed, "--config", f.config, "--insecure-http", "--publish-timeout", "1s")
	var out, errOut bytes.Buffer
	if code := Main(t.Context(), []string{"healthcheck", "--url", "http://" + admin + "/readyz"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "jobs stream") {
		t.Errorf("healthcheck without a jobs stream: exit %d %s", code, errOut.String())
	}
	code, a := signedPost(t, http.DefaultClient, "http://"+addr+"/v1/sources/soar", f.secretValue, "plain-1",
		`{"action":"deactivate","user":{"user_name":"a@b.example"}}`)
	if code != http.StatusServiceUnavailable || a.Failed != 1 {
		t.Errorf("without a jobs stream: %d %+v", code, a)
	}
}

// TestShutdownFinishesRequestsInFlight stops the ingress while a request's body is half sent:
// the request still gets its answer, and run returns cleanly.
func TestShutdownFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, testbed.Config{})
	f := writeFiles(t)
	stopping := make(chan struct{})
	var once sync.Once
	addr, _, stop := startStoppable(t, bed, func(e zapcore.Entry) {
		if strings.HasPrefix(e.Message, "ingress stopping") {
			once.Do(func() { close(stopping) })
		}
	}, "--config", f.config, "--insecure-http")
	user := bed.ActiveUsers(1)[0]
	body := `{"action":"deactivate","user":{"user_name":"` + user.UserName + `"}}`
	signer, _ := audit.NewSigner(f.secretValue)
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/v1/sources/soar", pr)
	now := time.Now()
	req.ContentLength = int64(len(body))
	req.Header.Set("Expect", "100-continue") // the body flows once the handler reads it
	req.Header.Set(audit.HeaderWebhookID, "inflight-1")
	req.Header.Set(audit.HeaderWebhookTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(audit.HeaderWebhookSignature, signer.Sign("inflight-1", now, []byte(body)))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	type result struct {
		code int
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- result{err: err}
			return
		}
		resp.Body.Close()
		answered <- result{code: resp.StatusCode}
	}()
	if _, err := pw.Write([]byte(body[:10])); err != nil { // returns once the handler is reading
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	<-stopping // run is shutting the server down: no new connections
	if _, err := pw.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if r := <-answered; r.err != nil || r.code != 200 {
		t.Fatalf("the request in flight: %d %v", r.code, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run after SIGTERM: %v", err)
	}
	if n := bed.JobsLeft(); n != 1 {
		t.Errorf("%d jobs stored", n)
	}
}
