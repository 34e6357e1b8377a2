package genesys

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const (
	leakSecret = "SECRET-sk_live_7fQ2xZ9"
	leakToken  = "TOKEN-at_9Xv3Lr8KqW"
)

// TestNoSecretInErrorsOrLogs runs every failure path with a recognisable
// client secret and token, against a server that echoes the credentials it
// received into its error bodies, and checks that neither the secret, its
// Basic form, nor the token appears in any error string or log line.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	basic := base64.StdEncoding.EncodeToString([]byte("leak-client:" + leakSecret))
	echo := func(r *http.Request) string {
		return strings.NewReplacer(`"`, `'`, `\`, `/`).Replace(r.Header.Get("Authorization"))
	}
	type scenario struct {
		name  string
		want  error
		login http.HandlerFunc
		api   http.HandlerFunc
	}
	goodLogin := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, leakToken)
	}
	apiStatus := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"status":%d,"code":"x","message":"you sent %s","contextId":"%s"}`, status, echo(r), echo(r))
		}
	}
	scenarios := []scenario{
		{"grant 400", ErrCredentials, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"client not found: %s","description":"%s"}`, echo(r), echo(r))
		}, nil},
		{"grant 401", ErrCredentials, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":"invalid_client %s","error_description":"authentication failed for %s"}`, echo(r), leakSecret)
		}, nil},
		{"grant 500", ErrTransient, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"error":"server_error","error_description":"%s"}`, echo(r))
		}, nil},
		{"grant garbage", ErrTransient, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, `%s`, echo(r)) }, nil},
		{"api 401", ErrUnauthorized, goodLogin, apiStatus(401)},
		{"api 400", ErrBadRequest, goodLogin, apiStatus(400)},
		{"api 403", ErrForbidden, goodLogin, apiStatus(403)},
		{"api 404", ErrNotFound, goodLogin, apiStatus(404)},
		{"api 409", ErrConflict, goodLogin, apiStatus(409)},
		{"api 429", ErrRateLimited, goodLogin, apiStatus(429)},
		{"api 500", ErrTransient, goodLogin, apiStatus(500)},
		{"api 200 not json", ErrUnexpectedResponse, goodLogin, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "not json %s", echo(r)) }},
		{"api hangs", ErrTransient, goodLogin, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // the server notices a gone client only once the body is read
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}},
		{"api drops connection", ErrTransient, goodLogin, func(w http.ResponseWriter, r *http.Request) {
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
		}},
	}
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	for _, sc := range scenarios {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /oauth/token", sc.login)
		if sc.api != nil {
			mux.HandleFunc("/api/", sc.api)
		}
		srv := httptest.NewServer(mux)
		c, err := NewClient(srv.URL, WithCredentials("leak-client", leakSecret),
			WithLimiter(&recordingLimiter{}), WithTimeout(100*time.Millisecond), WithMaxElapsedTime(150*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		var errs []error
		_, _, e1 := c.Users.Get(ctx, testUserID)
		_, e2 := c.Tokens.RevokeAll(ctx, testUserID)
		_, _, e3 := c.Users.Deactivate(ctx, testUserID, "1")
		_, _, e4 := c.Users.FindByExternalID(ctx, "x")
		errs = append(errs, e1, e2, e3, e4)
		cancel()
		srv.Close()
		for i, err := range errs {
			if err == nil && i == 1 && (sc.want == ErrNotFound || sc.want == ErrUnexpectedResponse) {
				continue // RevokeAll takes a 404 as "no tokens" and reads no body
			}
			if !errors.Is(err, sc.want) {
				t.Errorf("%s: err = %v, want %v", sc.name, err, sc.want)
			}
			log.Error("call failed", zap.String("scenario", sc.name), zap.Error(err))
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				checkNoSecret(t, sc.name, s, basic)
			}
		}
	}
	for _, e := range logs.All() {
		enc, _ := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()).EncodeEntry(e.Entry, e.Context)
		checkNoSecret(t, "log", enc.String(), basic)
	}
	if logs.Len() != 4*len(scenarios)-2 {
		t.Errorf("logged %d errors, want %d", logs.Len(), 4*len(scenarios)-2)
	}
}

func checkNoSecret(t *testing.T, where, s, basic string) {
	t.Helper()
	for _, secret := range []string{leakSecret, leakToken, basic} {
		if strings.Contains(s, secret) {
			t.Errorf("%s: %q contains a secret", where, s)
		}
	}
}
