//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/audit/relay"
)

// sinkSecret is the webhook secret the relay signs with and the sink verifies: a fixture.
const sinkSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// relayConfig is the relay's endpoint file: every audit event (ops events too) to the sink, over
// plain HTTP on the private test network (both opt-ins), from the start of the audit stream, with
// a retry schedule of 40 retries over about 6 minutes, which outlasts scenario 5's sink outage
// many times over, while retrying every 10 s at most, so that a sink back up is noticed at once.
const relayConfig = `{"endpoints": [{
  "name": "sink", "url": "http://sink:8090/hooks/genesys", "secrets_env": "GENESYS_SINK_WHSEC",
  "allow_http": true, "allow_private": true, "start_at": "all", "subjects": ["genesys.audit.>"],
  "schedule": ["1s", "2s", "4s", "8s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s"]
}]}`

// startRelay starts the webhook sink (`relay sink`, journal in its container's /data so that a
// stopped and started sink keeps what it had) and the relay delivering to it.
func (s *stack) startRelay(ctx context.Context) {
	s.t.Helper()
	env := map[string]string{"GENESYS_SINK_WHSEC": sinkSecret}
	sink, err := testcontainers.Run(ctx, imageName("relay"),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcnetwork.WithNetwork([]string{"sink"}, s.net),
		testcontainers.WithName(s.net.Name+"-sink"),
		testcontainers.WithEnv(env),
		testcontainers.WithCmd("sink", "--listen", ":8090", "--secrets-env", "GENESYS_SINK_WHSEC", "--journal", "/data/sink.jsonl"),
		testcontainers.WithExposedPorts("8090/tcp"),
		// The relay image's HEALTHCHECK asks the relay's admin port; the sink answers on its own,
		// as in docker-compose.yml. Waiting for "healthy" checks that the override works.
		testcontainers.WithConfigModifier(func(c *container.Config) {
			c.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/usr/local/bin/relay", "healthcheck", "--url", "http://127.0.0.1:8090/healthz"},
				Interval: time.Second, Timeout: 4 * time.Second, Retries: 3}
		}),
		testcontainers.WithWaitStrategy(wait.ForHealthCheck().WithPollInterval(250*time.Millisecond).WithStartupTimeout(60*time.Second)),
	)
	watchContainer(s.t, sink, "sink")
	if err != nil {
		s.t.Fatalf("start the sink: %v", err)
	}
	s.sink = sink
	relay, err := testcontainers.Run(ctx, imageName("relay"),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcnetwork.WithNetwork([]string{"relay"}, s.net),
		testcontainers.WithName(s.net.Name+"-relay"),
		testcontainers.WithEnv(env),
		testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader: strings.NewReader(relayConfig), ContainerFilePath: "/etc/genesys/relay.json", FileMode: 0o644,
		}),
		testcontainers.WithCmd("run", "--config", "/etc/genesys/relay.json", "--nats-url", s.nats.innerURLs(),
			"--replicas", "3", "--http", ":8081", "--monitor-interval", "5s"),
		testcontainers.WithExposedPorts("8081/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/healthz").WithPort("8081/tcp").
			WithPollInterval(250*time.Millisecond).WithStartupTimeout(60*time.Second)),
	)
	watchContainer(s.t, relay, "relay")
	if err != nil {
		s.t.Fatalf("start the relay: %v", err)
	}
	s.relay = relay
}

// sinkEvents is what the sink kept, from its GET /events.
func (s *stack) sinkEvents(ctx context.Context) ([]relay.SinkEvent, error) {
	ep, err := s.sink.PortEndpoint(ctx, "8090/tcp", "http")
	if err != nil {
		return nil, err
	}
	return sinkEventsAt(ctx, ep)
}

// sinkEventsAt reads GET /events of the sink at base (http://host:port).
func sinkEventsAt(ctx context.Context, base string) ([]relay.SinkEvent, error) {
	var got struct {
		Events []relay.SinkEvent `json:"events"`
	}
	return got.Events, getJSON(ctx, base+"/events", &got)
}

// notInSink returns the jobs of jobIDs whose terminal audit event is not among events.
func notInSink(events []relay.SinkEvent, jobIDs []string) []string {
	have := make(map[string]bool, len(events))
	for _, ev := range events {
		have[ev.ID] = true
	}
	var missing []string
	for _, id := range jobIDs {
		if !have[audit.EventID(id)] {
			missing = append(missing, id)
		}
	}
	return missing
}

// relayCounter sums a counter of the relay's /metrics, every label set.
func (s *stack) relayCounter(ctx context.Context, name string) (float64, error) {
	ep, err := s.relay.PortEndpoint(ctx, "8081/tcp", "http")
	if err != nil {
		return 0, err
	}
	body, err := httpGet(ctx, ep+"/metrics")
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			f := strings.Fields(rest[strings.LastIndex(rest, "}")+1:])
			if len(f) > 0 {
				v, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					return 0, fmt.Errorf("%s: %q", name, line)
				}
				sum += v
			}
		}
	}
	return sum, nil
}

// checkSink waits until the sink holds the terminal audit event of every job of the batch
// (the relay trails the workers; a sink outage adds its retry delays) and reports what is
// missing when the scenario's time runs out.
func (s *stack) checkSink(ctx context.Context, b batch) {
	s.t.Helper()
	var missing []string
	start := time.Now()
	for {
		evs, err := s.sinkEvents(ctx)
		if err == nil {
			if missing = notInSink(evs, b.ids); len(missing) == 0 {
				repeats := 0
				for _, ev := range evs {
					if ev.Repeat {
						repeats++
					}
				}
				s.t.Logf("sink: all %d terminal events of the batch, %d events in all, %d repeated deliveries (waited %s after the batch)",
					len(b.ids), len(evs), repeats, time.Since(start).Round(100*time.Millisecond))
				return
			}
		}
		select {
		case <-ctx.Done():
			report(s, "jobs whose audit event never reached the sink", missing)
			s.t.Errorf("sink: last read error %v", err)
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// httpGet returns the body of a GET of url that answers 200.
func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), err
}

// getJSON decodes the JSON answer of a GET of url.
func getJSON(ctx context.Context, url string, v any) error {
	body, err := httpGet(ctx, url)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(body), v)
}
