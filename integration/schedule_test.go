//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/offboard-dev/genesys-deactivator/pkg/genesys/genesyssim"
	"github.com/offboard-dev/genesys-deactivator/pkg/jobs"
)

// Scheduled jobs on the cluster (issue 16): helpers of scenario 3, which schedules jobs around
// the restart of the node that leads the scheduled stream.

// addUsers adds n active agents to the simulator's org, named <prefix>-NN@example.com: users of
// their own, so that a second deactivation of one would show in the request log as a second PATCH.
func (s *simulator) addUsers(ctx context.Context, prefix string, n int) ([]genesyssim.User, error) {
	users := make([]genesyssim.User, n)
	for i := range users {
		body, err := json.Marshal(genesyssim.User{UserName: fmt.Sprintf("%s-%02d@example.com", prefix, i),
			DisplayName: fmt.Sprintf("%s %d", prefix, i), Active: true, Grants: []genesyssim.Grant{{RoleName: "Agent"}}})
		if err != nil {
			return nil, err
		}
		if err := postJSON(ctx, s.url+"/admin/users", body, &users[i]); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// postJSON posts body and decodes the answer, which must be 201 Created.
func postJSON(ctx context.Context, url string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusCreated {
		err = fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(out, v)
}

// scheduled is a group of urgent deactivations the test scheduled, one per user.
type scheduled struct {
	ids   []string
	users []string // Genesys user ids, in the order of ids
	at    []time.Time
}

// schedule publishes one urgent deactivation per user with job ids <prefix>-NN, the i-th not
// before at(i), through the producer's path (the intake subject; a worker stores the schedule).
func (s *stack) schedule(ctx context.Context, prefix string, users []genesyssim.User, at func(i int) time.Time) scheduled {
	s.t.Helper()
	pub, err := jobs.NewPublisher(s.js, s.names)
	if err != nil {
		s.t.Fatal(err)
	}
	var g scheduled
	for i, u := range users {
		id, nb := fmt.Sprintf("%s-%02d", prefix, i), at(i).UTC()
		res, err := pub.Enqueue(ctx, jobs.Job{ID: id, Action: jobs.ActionDeactivate, Priority: jobs.PriorityUrgent,
			User: jobs.UserRef{ID: u.ID}, RequestedBy: "integration-test", Reason: "leaves on a date", Ticket: "HR-16", NotBefore: nb})
		if err != nil {
			s.t.Fatalf("schedule %s: %v", id, err)
		}
		if !res.Scheduled {
			s.t.Fatalf("schedule %s for %s: the publisher did not route it to the intake (%+v)", id, nb.Format(time.RFC3339Nano), res)
		}
		g.ids, g.users, g.at = append(g.ids, id), append(g.users, u.ID), append(g.at, nb)
	}
	return g
}

// scheduledLeader is the index in natsNodes of the node that leads the scheduled stream, which
// must have three replicas.
func (s *stack) scheduledLeader(ctx context.Context) (int, error) {
	str, err := s.js.Stream(ctx, s.names.ScheduledStream())
	if err != nil {
		return 0, err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.Cluster == nil || info.Config.Replicas != len(natsNodes) {
		return 0, fmt.Errorf("%s has %d replicas (cluster %+v), want %d", s.names.ScheduledStream(), info.Config.Replicas, info.Cluster, len(natsNodes))
	}
	if i := slices.Index(natsNodes, info.Cluster.Leader); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("%s is led by %q, not a node of the cluster", s.names.ScheduledStream(), info.Cluster.Leader)
}

// streamLeader is the node that leads stream.
func (s *stack) streamLeader(ctx context.Context, stream string) (string, error) {
	str, err := s.js.Stream(ctx, stream)
	if err != nil {
		return "", err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return "", err
	}
	if info.Cluster == nil {
		return "", fmt.Errorf("%s has no cluster info", stream)
	}
	return info.Cluster.Leader, nil
}

// moveLeader makes node the leader of stream (a leader stepdown with that node preferred, which
// nats-server ≥ 2.11 honours) and waits until the stream info names it.
func (s *stack) moveLeader(ctx context.Context, stream, node string) error {
	if cur, err := s.streamLeader(ctx, stream); err == nil && cur == node {
		return nil
	}
	req, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": node}})
	resp, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.LEADER.STEPDOWN."+stream, req)
	if err != nil {
		return fmt.Errorf("step %s down: %w", stream, err)
	}
	var r struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil || r.Error != nil {
		return fmt.Errorf("step %s down: %s (%v)", stream, resp.Data, err)
	}
	for {
		if cur, err := s.streamLeader(ctx, stream); err == nil && cur == node {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not move to %s: %w", stream, node, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// jobsLastSeq is the last sequence of the jobs stream: every message it ever stored, acked ones included.
func (s *stack) jobsLastSeq(ctx context.Context) (uint64, error) {
	str, err := s.js.Stream(ctx, s.names.JobsStream())
	if err != nil {
		return 0, err
	}
	info, err := str.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// scheduledSubjects counts the messages of the scheduled stream per subject under filter.
func (s *stack) scheduledSubjects(ctx context.Context, filter string) (map[string]uint64, error) {
	str, err := s.js.Stream(ctx, s.names.ScheduledStream())
	if err != nil {
		return nil, err
	}
	info, err := str.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, err
	}
	return info.State.Subjects, nil
}

// firedAt returns when the scheduled stream stored the fired copy of each job of g that has one
// (the server's clock), sorted.
func (s *stack) firedAt(ctx context.Context, g scheduled) ([]time.Time, error) {
	str, err := s.js.Stream(ctx, s.names.ScheduledStream())
	if err != nil {
		return nil, err
	}
	due, err := s.scheduledSubjects(ctx, s.names.FiredCopiesFilter())
	if err != nil {
		return nil, err
	}
	var at []time.Time
	for subj := range due {
		for _, id := range g.ids {
			if strings.HasSuffix(subj, "."+jobs.IDToken(id)) {
				m, err := str.GetLastMsgForSubject(ctx, subj)
				if err != nil {
					return nil, err
				}
				at = append(at, m.Time)
			}
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at, nil
}

// waitPending waits until n schedules are pending in the scheduled stream, or until the time
// before which they all should be, polling the count; it returns the last count.
func (s *stack) waitPending(ctx context.Context, n int, before time.Time) int {
	s.t.Helper()
	sched, err := jobs.NewScheduler(s.js, s.names, 0)
	must(s.t, "scheduler", err)
	for {
		got, err := sched.CountPending(ctx)
		if (err == nil && got >= n) || time.Now().After(before) {
			return got
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("%d of %d schedules pending before the scenario's time limit", got, n)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitScheduledDone waits until every job of g has a done status, polling the status bucket; it
// fails the test when ctx ends first.
func (s *stack) waitScheduledDone(ctx context.Context, g scheduled, what string) {
	s.t.Helper()
	start, lastLog := time.Now(), time.Now()
	for {
		done := 0
		for _, id := range g.ids {
			if st, err := s.status.Get(ctx, id); err == nil && st.State == jobs.StateDone {
				done++
			}
		}
		if done == len(g.ids) {
			s.t.Logf("%s: all %d scheduled jobs done after %s", what, done, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Since(lastLog) > 15*time.Second {
			s.t.Logf("%s: waiting, %d of %d scheduled jobs done", what, done, len(g.ids))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("%s: %d of %d scheduled jobs done before the scenario's time limit", what, done, len(g.ids))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkScheduled asserts that every scheduled job of gs ran exactly once: one terminal audit
// event per job id, outcome deactivated; one fired copy per job and no pending schedule left in
// the scheduled stream; the jobs stream stored each job twice since seq0 (its intake message and
// its one sourced fired copy), so no copy was sourced twice; and the simulator saw exactly one
// deactivating PATCH per user.
func (s *stack) checkScheduled(ctx context.Context, seq0 uint64, gs ...scheduled) {
	s.t.Helper()
	var all scheduled
	for _, g := range gs {
		all.ids, all.users = append(all.ids, g.ids...), append(all.users, g.users...)
	}
	counts, outcomes, err := s.auditEvents(ctx)
	if err != nil {
		s.t.Fatalf("read the audit stream: %v", err)
	}
	var bad []string
	for _, id := range all.ids {
		if counts[id] != 1 || outcomes[id] != "deactivated" {
			bad = append(bad, fmt.Sprintf("%s: %d events, last %q", id, counts[id], outcomes[id]))
		}
		if _, err := s.checkStatus(ctx, id, outcomes[id]); err != nil {
			bad = append(bad, err.Error())
		}
	}
	report(s, "scheduled jobs without exactly one deactivated event and status", bad)

	due, err := s.scheduledSubjects(ctx, s.names.FiredCopiesFilter())
	must(s.t, "fired copies", err)
	pending, err := s.scheduledSubjects(ctx, s.names.PendingSchedulesFilter())
	must(s.t, "pending schedules", err)
	bad = bad[:0]
	for _, id := range all.ids {
		n := uint64(0)
		for subj, c := range due {
			if strings.HasSuffix(subj, "."+jobs.IDToken(id)) {
				n += c
			}
		}
		if n != 1 {
			bad = append(bad, fmt.Sprintf("%s×%d", id, n))
		}
	}
	report(s, "scheduled jobs without exactly one fired copy", bad)
	if len(pending) != 0 {
		s.t.Errorf("%d schedules still pending after every job ran: %v", len(pending), pending)
	}
	last, err := s.jobsLastSeq(ctx)
	must(s.t, "jobs stream", err)
	if got, want := last-seq0, uint64(2*len(all.ids)); got != want {
		s.t.Errorf("the jobs stream stored %d messages since the jobs were scheduled, want %d (an intake message and one sourced copy each)", got, want)
	}

	var reqs []genesyssim.Request
	must(s.t, "simulator request log", s.sim.get(ctx, "/admin/requests", &reqs))
	patches := map[string]int{}
	for _, q := range reqs {
		if q.Method == http.MethodPatch && strings.HasPrefix(q.Route, "PATCH /api/v2/scim") && q.Status/100 == 2 {
			patches[q.UserID]++
		}
	}
	bad = bad[:0]
	for i, u := range all.users {
		if patches[u] != 1 {
			bad = append(bad, fmt.Sprintf("%s (%s)×%d", all.ids[i], u, patches[u]))
		}
	}
	report(s, "scheduled users without exactly one deactivating PATCH", bad)
	s.t.Logf("scheduled: %d jobs, %d fired copies, %d messages in the jobs stream since seq %d, %d pending",
		len(all.ids), len(due), last-seq0, seq0, len(pending))
}
