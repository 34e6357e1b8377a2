//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/ingress"
)

// ingressSecret is the whsec_ secret of the scenario ingress's webhook source: a fixture.
const ingressSecret = "whsec_dGVzdC1vbmx5LWluZ3Jlc3Mtc2NlbmFyaW8tc2VjcmV0IQ=="

// ingressSource is the name of that source; its jobs are requested_by "ingress:webhook".
const ingressSource = "webhook"

// ingressConfig serves the one webhook source, with a rate limit far above what the scenario
// sends (the per-source 429 is tested in pkg/ingress; here every event must get through).
const ingressConfig = `{"sources": [{"name": "webhook", "kind": "standard_webhooks",
  "secret_files": ["/run/secrets/ingress-webhook"], "rate_per_second": 5000, "burst": 5000}]}`

func ingressName(i int) string { return "ingress-" + strconv.Itoa(i+1) }

// startIngress starts ingress replica i on the stack's network, plain HTTP on :8088 (the
// explicit opt-in), admin on :8081, and returns its webhook base URL from the host once /readyz
// answers 200 (NATS connected, the jobs stream reachable).
func (s *stack) startIngress(ctx context.Context, i int) (*testcontainers.DockerContainer, string) {
	s.t.Helper()
	c, err := testcontainers.Run(ctx, imageName("ingress"),
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		tcnetwork.WithNetwork([]string{ingressName(i)}, s.net),
		testcontainers.WithName(s.net.Name+"-"+ingressName(i)),
		testcontainers.WithFiles(
			testcontainers.ContainerFile{Reader: strings.NewReader(ingressConfig), ContainerFilePath: "/etc/genesys/ingress.json", FileMode: 0o644},
			testcontainers.ContainerFile{Reader: strings.NewReader(ingressSecret + "\n"), ContainerFilePath: "/run/secrets/ingress-webhook", FileMode: 0o644},
		),
		testcontainers.WithCmd("run", "--config", "/etc/genesys/ingress.json", "--nats-url", s.nats.innerURLs(),
			"--listen", ":8088", "--insecure-http", "--admin-listen", ":8081", "--shutdown-timeout", "5s"),
		testcontainers.WithExposedPorts("8088/tcp", "8081/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8081/tcp").
			WithPollInterval(250*time.Millisecond).WithStartupTimeout(60*time.Second)),
	)
	watchContainer(s.t, c, ingressName(i))
	if err != nil {
		s.t.Fatalf("start %s: %v", ingressName(i), err)
	}
	url, err := c.PortEndpoint(ctx, "8088/tcp", "http")
	if err != nil {
		s.t.Fatal(err)
	}
	return c, url
}

// webhookSender posts signed deliveries as a Standard Webhooks sender does: a delivery keeps its
// webhook-id on every attempt and is signed again with the attempt's timestamp.
type webhookSender struct {
	signer *audit.Signer
	client *http.Client
}

func newWebhookSender(secret string) (*webhookSender, error) {
	signer, err := audit.NewSigner(secret)
	if err != nil {
		return nil, err
	}
	return &webhookSender{signer: signer, client: &http.Client{Timeout: 15 * time.Second}}, nil
}

// post delivers body as webhookID to source at base and returns the status and the answer.
func (w *webhookSender) post(ctx context.Context, base, source, webhookID string, body []byte) (int, ingress.Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/sources/"+source, bytes.NewReader(body))
	if err != nil {
		return 0, ingress.Answer{}, err
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(audit.HeaderWebhookID, webhookID)
	req.Header.Set(audit.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(audit.HeaderWebhookSignature, w.signer.Sign(webhookID, now, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, ingress.Answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, ingress.Answer{}, err
	}
	var a ingress.Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return resp.StatusCode, a, fmt.Errorf("answer %d %q: %w", resp.StatusCode, data, err)
	}
	return resp.StatusCode, a, nil
}

// ingressJobs reads every user event of the audit stream whose job was requested by an ingress
// source ("ingress:..."): the number of terminal events of each such job, and the requested_by
// of its last one.
func (s *stack) ingressJobs(ctx context.Context) (map[string]int, map[string]string, error) {
	cons, err := s.js.OrderedConsumer(ctx, s.names.AuditStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{strings.TrimSuffix(s.names.AuditSubjects(), ">") + "user.>"},
	})
	if err != nil {
		return nil, nil, err
	}
	counts, by := map[string]int{}, map[string]string{}
	for {
		msgs, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, nil, err
		}
		n, last := 0, false
		for m := range msgs.Messages() {
			n++
			var ev struct {
				Data audit.AccountChange `json:"data"`
			}
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				return nil, nil, fmt.Errorf("audit event on %s: %w", m.Subject(), err)
			}
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				last = true
			}
			if ev.Data.Actor.User == nil || !strings.HasPrefix(ev.Data.Actor.User.Name, "ingress:") {
				continue
			}
			id := ev.Data.Unmapped.JobID
			counts[id]++
			by[id] = ev.Data.Actor.User.Name
		}
		if msgs.Error() != nil {
			return nil, nil, msgs.Error()
		}
		if last || n == 0 {
			return counts, by, nil
		}
	}
}

// ingressDelivery is one event the scenario's sender delivers, and what became of it.
type ingressDelivery struct {
	webhookID string
	body      []byte
	acked     bool   // some attempt got a 2xx
	jobID     string // the id the 2xx answer gave
	attempts  []string
}

// sendThroughIngress delivers every event from 16 concurrent senders, one delivery started
// every deliveryEvery in index order, each first to the replica its index picks (alternating),
// so that the stream lasts several seconds; when half of them have started it runs midway (the
// kill) while the rest keep coming. An attempt that fails (no answer, a 5xx, a 429) is retried on
// the other replica, with the same webhook-id, until it gets a 2xx or ctx ends.
func sendThroughIngress(ctx context.Context, w *webhookSender, urls []string, events []*ingressDelivery, midway func()) {
	queue := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range queue {
				ev := events[i]
				for try := 0; ctx.Err() == nil; try++ {
					url := urls[(i+try)%len(urls)]
					code, a, err := w.post(ctx, url, ingressSource, ev.webhookID, ev.body)
					ev.attempts = append(ev.attempts, fmt.Sprintf("%s: %d %v", url, code, err))
					if code >= 200 && code < 300 && err == nil && len(a.Events) == 1 {
						ev.acked, ev.jobID = true, a.Events[0].ID
						break
					}
					select { // a sender's back-off before its retry
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		})
	}
	pace := time.NewTicker(deliveryEvery)
	defer pace.Stop()
feed:
	for i := range events {
		if i == len(events)/2 {
			wg.Go(midway)
		}
		select {
		case <-ctx.Done():
			break feed
		case <-pace.C:
		}
		select {
		case <-ctx.Done():
			break feed
		case queue <- i:
		}
	}
	close(queue)
	wg.Wait()
}

// deliveryEvery spaces the starts of the scenario's deliveries: 200 take 6 s, and the second
// half's 3 s outlast the time Docker takes to kill a container on a busy machine.
const deliveryEvery = 30 * time.Millisecond
