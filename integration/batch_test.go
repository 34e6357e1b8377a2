//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// batch is a set of jobs the test enqueued, one per user of the simulator's org.
type batch struct {
	ids []string
}

// enqueueBatch publishes one deactivation job per user of the org, by Genesys user id, with job
// ids that start with prefix. It publishes from a few goroutines: each publish waits for the
// replicated PubAck.
func (s *stack) enqueueBatch(ctx context.Context, prefix string) batch {
	s.t.Helper()
	users, err := s.sim.users(ctx)
	if err != nil {
		s.t.Fatalf("simulator users: %v", err)
	}
	pub, err := jobs.NewPublisher(s.js, s.names)
	if err != nil {
		s.t.Fatal(err)
	}
	b := batch{ids: make([]string, len(users))}
	errs := make([]error, len(users))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				b.ids[i] = fmt.Sprintf("%s-%04d", prefix, i)
				_, errs[i] = pub.Enqueue(ctx, jobs.Job{ID: b.ids[i], Action: jobs.ActionDeactivate,
					User: jobs.UserRef{ID: users[i].ID}, RequestedBy: "integration-test", Reason: "left the company", Ticket: "HR-9"})
			}
		})
	}
	for i := range users {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.t.Fatalf("enqueue: %v", err)
	}
	s.t.Logf("enqueued %d jobs", len(b.ids))
	return b
}

// remaining is the number of jobs still in the jobs stream (a work queue: a job leaves it when
// a worker acks or terminates it, after its audit event is stored).
func (s *stack) remaining(ctx context.Context) (uint64, error) {
	str, err := s.js.Stream(ctx, s.names.JobsStream())
	if err != nil {
		return 0, err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitFinished waits until at least done jobs of the batch have left the jobs stream, polling;
// it fails the test when ctx (the scenario's time limit) ends first.
func (s *stack) waitFinished(ctx context.Context, b batch, done int, what string) {
	s.t.Helper()
	start, lastLog := time.Now(), time.Now()
	for {
		left, err := s.remaining(ctx)
		if err == nil && len(b.ids)-int(left) >= done {
			s.t.Logf("%s: %d of %d jobs finished after %s", what, len(b.ids)-int(left), len(b.ids), time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(lastLog) > 15*time.Second {
			s.t.Logf("%s: waiting, %d jobs left (%v)", what, left, err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("%s: %d jobs finished, want %d, before the scenario's time limit: %v (last error %v)", what, len(b.ids)-int(left), done, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// auditEvents reads every user event of the audit stream and counts the terminal events of each
// job id, with the outcome of the last.
func (s *stack) auditEvents(ctx context.Context) (map[string]int, map[string]audit.Outcome, error) {
	// A cluster busy with a leader change may refuse the read for a moment ("no responders"):
	// read again from the start, as the relay and the workers would.
	for try := 1; ; try++ {
		counts, outcomes, err := s.readAuditEvents(ctx)
		if err == nil || try == 5 || !jobs.RetryableJetStreamError(err) {
			return counts, outcomes, err
		}
		s.t.Logf("read the audit stream (try %d): %v; again in 2s", try, err)
		time.Sleep(2 * time.Second)
	}
}

func (s *stack) readAuditEvents(ctx context.Context) (map[string]int, map[string]audit.Outcome, error) {
	cons, err := s.js.OrderedConsumer(ctx, s.names.AuditStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{strings.TrimSuffix(s.names.AuditSubjects(), ">") + "user.>"},
	})
	if err != nil {
		return nil, nil, err
	}
	counts, outcomes := map[string]int{}, map[string]audit.Outcome{}
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
			u := ev.Data.Unmapped
			if !strings.Contains(m.Subject(), "."+string(u.Outcome)+".") {
				return nil, nil, fmt.Errorf("event of outcome %s on subject %s", u.Outcome, m.Subject())
			}
			counts[u.JobID]++
			outcomes[u.JobID] = u.Outcome
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				last = true
			}
		}
		if msgs.Error() != nil {
			return nil, nil, msgs.Error()
		}
		if last || n == 0 {
			return counts, outcomes, nil
		}
	}
}
