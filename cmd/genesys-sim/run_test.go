package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

func TestEveryFlagHasUsage(t *testing.T) {
	t.Parallel()
	var help bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &help, io.Discard); err != nil {
		t.Fatalf("--help: %v", err)
	}
	n := 0
	newFlagSet(&options{}).VisitAll(func(f *flag.Flag) {
		n++
		if len(strings.Fields(f.Usage)) < 3 {
			t.Errorf("flag -%s has no real usage text: %q", f.Name, f.Usage)
		}
		if !strings.Contains(help.String(), "\n  -"+f.Name+" ") && !strings.Contains(help.String(), "\n  -"+f.Name+"\n") {
			t.Errorf("--help does not list -%s", f.Name)
		}
	})
	if n < 30 {
		t.Errorf("only %d flags; every Config field and fault should have one", n)
	}
	for _, want := range []string{"Usage: genesys-sim", "/admin/requests", "/admin/faults", "HYPOTHETICAL", "loopback"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}

func TestFlagsToConfig(t *testing.T) {
	t.Parallel()
	var o options
	args := []string{"-listen", "127.0.0.1:0", "-client", "a:s1", "-client", "b:s2:directory:user:edit,oauth:token:delete",
		"-client", "c:s3:", "-seed", "7", "-users", "5", "-token-ttl", "1h", "-body-credentials",
		"-rate-limit", "10", "-rate-window", "6s", "-rate-mode", "token", "-rate-allowed-header", "180",
		"-version-conflict", "409", "-not-found-body", "platform", "-remove-roles-on-deactivate",
		"-revoke-tokens-on-deactivate", "-tokens-404-when-none", "-hide-inactive-by-id", "-filter-includes-inactive",
		"-strict-patch", "-weak-etag", "-scim-delete-status", "200", "-max-body-bytes", "1000", "-log-size", "50",
		"-fault-seed", "9", "-fault-routes", "GET /api/v2/scim/v2/users,PATCH /api/v2/scim/v2/users/{id}",
		"-latency-min", "1ms", "-latency-max", "5ms", "-error-rate", "0.1", "-error-statuses", "502,503",
		"-503-retry-after", "2s", "-burst-rate", "0.01", "-burst-length", "4", "-burst-retry-after", "3s",
		"-timeout-rate", "0.02", "-max-hang", "5s", "-conflict-rate", "0.03", "-blocking-rate", "0.04",
		"-blocking-users", "u1,u2", "-off-queue-on-deactivate", "-remove-queues-on-deactivate", "-clear-station-on-deactivate",
		"-disable-forwarding-on-deactivate", "-remove-wfm-on-deactivate", "-offline-on-token-delete",
		"-routing-status-permission", "routing:agent:edit", "-presence-permission", "presence:userPresence:edit",
		"-remove-group-members", "-take-default-station"}
	if err := newFlagSet(&o).Parse(args); err != nil {
		t.Fatal(err)
	}
	want := genesyssim.Config{
		Clients: []genesyssim.Client{{ID: "a", Secret: "s1"},
			{ID: "b", Secret: "s2", Permissions: []string{"directory:user:edit", "oauth:token:delete"}},
			{ID: "c", Secret: "s3", Permissions: []string{}}},
		Seed: 7, Users: 5, TokenTTL: time.Hour, AllowBodyCredentials: true,
		RateLimit: 10, RateWindow: 6 * time.Second, RateLimitMode: genesyssim.RateLimitPerToken, RateLimitAllowedHeader: 180,
		VersionConflict: genesyssim.VersionConflict409, NotFoundBody: genesyssim.ErrorShapePlatform,
		RemoveRolesOnDeactivate: true, RevokeTokensOnDeactivate: true, NotFoundWhenNoTokens: true,
		HideInactiveByID: true, FilterIncludesInactive: true, StrictPatch: true, WeakETag: true,
		ScimDeleteStatus: 200, MaxBodyBytes: 1000, LogSize: 50,
		OffQueueOnDeactivate: true, RemoveQueuesOnDeactivate: true, ClearStationOnDeactivate: true,
		DisableForwardingOnDeactivate: true, RemoveFromWFMOnDeactivate: true, OfflineOnTokenDelete: true,
		RoutingStatusPermission: "routing:agent:edit", PresencePermission: "presence:userPresence:edit",
		RemoveGroupMembers: true, TakeDefaultStation: true,
		Faults: genesyssim.Faults{Seed: 9, Routes: []string{"GET /api/v2/scim/v2/users", "PATCH /api/v2/scim/v2/users/{id}"},
			LatencyMin: time.Millisecond, LatencyMax: 5 * time.Millisecond, ErrorRate: 0.1, ErrorStatuses: []int{502, 503},
			ServiceUnavailableRetryAfter: 2 * time.Second, BurstRate: 0.01, BurstLength: 4, BurstRetryAfter: 3 * time.Second,
			TimeoutRate: 0.02, MaxHang: 5 * time.Second, ConflictRate: 0.03, BlockingRate: 0.04, BlockingUsers: []string{"u1", "u2"}},
	}
	if diff := cmp.Diff(want, o.cfg, cmpopts.IgnoreFields(genesyssim.Config{}, "Now")); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if o.listen != "127.0.0.1:0" {
		t.Errorf("listen = %q", o.listen)
	}
	if _, err := genesyssim.New(o.cfg); err != nil {
		t.Errorf("flags gave an invalid config: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-nope"}, {"extra"}, {"-rate-mode", "org"}, {"-error-statuses", "5xx"}, {"-client", "nosecret"},
		{"-listen", "256.0.0.1:1"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: run succeeded", args)
		}
	}
}

// lines collects what run prints and hands over each complete line.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line) // incomplete: keep for the next write
			return len(p), nil
		}
		l.ch <- strings.TrimSpace(line)
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	out := &lines{ch: make(chan string, 64)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-users", "3"}, out, io.Discard) }()

	first := <-out.ch
	base, ok := strings.CutPrefix(first, "genesys-sim listening on ")
	if !ok {
		t.Fatalf("first line %q does not announce the base URL", first)
	}
	res, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized { // no Basic credentials
		t.Errorf("grant without credentials: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(genesyssim.DefaultClientID, genesyssim.DefaultClientSecret)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("grant with the announced credentials: %d", res.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v", err)
	}
	var printed []string
	for len(out.ch) > 0 {
		printed = append(printed, <-out.ch)
	}
	all := strings.Join(printed, "\n")
	for _, want := range []string{"client id: sim-client   client secret: sim-secret", "/oauth/token", "genesys-sim: stopped"} {
		if !strings.Contains(all, want) {
			t.Errorf("output lacks %q:\n%s", want, all)
		}
	}
}

// TestREADMESection keeps the README's "Running the simulator" section in step with the flags.
func TestREADMESection(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Running the simulator\n")
	if !ok {
		t.Fatal(`README.md has no "## Running the simulator" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	fs := newFlagSet(&options{})
	mentioned := regexp.MustCompile(`--([a-z0-9][a-z0-9-]*)`).FindAllStringSubmatch(section, -1)
	if len(mentioned) < 5 {
		t.Errorf("the section mentions only %d flags", len(mentioned))
	}
	for _, m := range mentioned {
		if m[1] != "help" && fs.Lookup(m[1]) == nil {
			t.Errorf("README mentions --%s, which genesys-sim does not have", m[1])
		}
	}
	if !strings.Contains(section, "go run ./cmd/genesys-sim") {
		t.Error("the section does not say how to run the simulator")
	}
}
