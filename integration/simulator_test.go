//go:build integration

package integration

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
)

// The budget, scaled. The simulator accepts simBudget API requests in any simWindow (a rolling
// window per OAuth client; Genesys documents 300 per 60 s), and the workers share the same
// number as their fleet budget (--rate-per-minute, one budget for the fleet through NATS KV).
// The window stays one minute because the worker's budget window is fixed at a minute; the
// budget is raised instead, so that a batch of 1,000 users (about 2,800 requests) spans a bit
// more than three windows.
const (
	simBudget       = 900
	simWindow       = time.Minute
	simUsers        = 1000
	scenarioWorkers = 3
	simClientID     = "sim-client"
	simClientSecret = "sim-secret" // a fixture of the simulator, not a secret
)

// simulator is the genesys-sim container, reached by workers as http://sim:8089 and by the test
// through its mapped port.
type simulator struct {
	c   *testcontainers.DockerContainer
	url string // base URL from the host
}

func startSimulator(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork) *simulator {
	t.Helper()
	c, err := testcontainers.Run(ctx, imageName("genesys-sim"),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcnetwork.WithNetwork([]string{"sim"}, nw),
		testcontainers.WithName(nw.Name+"-sim"),
		testcontainers.WithCmd("--listen", ":8089", "--users", strconv.Itoa(simUsers),
			"--rate-limit", strconv.Itoa(simBudget), "--rate-window", simWindow.String(), "--log-size", "200000"),
		testcontainers.WithExposedPorts("8089/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/admin/health").WithPort("8089/tcp").
			WithPollInterval(250*time.Millisecond).WithStartupTimeout(60*time.Second)),
	)
	watchContainer(t, c, "genesys-sim")
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	ep, err := c.PortEndpoint(ctx, "8089/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	return &simulator{c: c, url: ep}
}

// get decodes the JSON answer of an admin path.
func (s *simulator) get(ctx context.Context, path string, v any) error {
	return getJSON(ctx, s.url+path, v)
}

// users is the seeded org.
func (s *simulator) users(ctx context.Context) ([]genesyssim.User, error) {
	var us []genesyssim.User
	return us, s.get(ctx, "/admin/users", &us)
}

// windowReport is what the simulator saw of the fleet's pace.
type windowReport struct {
	APIRequests int       // requests to /api paths, refused ones included
	MaxInWindow int       // most API requests in any span of simWindow
	MaxAt       time.Time // where that span starts
	RateLimited int       // 429s of the simulator's rate window
}

// windows reads the request log and finds the busiest window, counting every API request that
// arrived (accepted or refused), so a fleet above the budget shows even when the simulator
// refused the excess.
func (s *simulator) windows(ctx context.Context) (windowReport, error) {
	var reqs []genesyssim.Request
	if err := s.get(ctx, "/admin/requests", &reqs); err != nil {
		return windowReport{}, err
	}
	var times []time.Time
	var r windowReport
	for _, q := range reqs {
		if !strings.HasPrefix(q.Path, "/api/") {
			continue
		}
		times = append(times, q.Time)
		if q.Fault == "ratelimit" {
			r.RateLimited++
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	r.APIRequests = len(times)
	for lo, hi := 0, 0; hi < len(times); hi++ {
		for !times[hi].Before(times[lo].Add(simWindow)) {
			lo++
		}
		if n := hi - lo + 1; n > r.MaxInWindow {
			r.MaxInWindow, r.MaxAt = n, times[lo]
		}
	}
	return r, nil
}
