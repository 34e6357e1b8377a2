package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/offboard-dev/genesys-deactivator/internal/ctxsleep"
)

// TopologyConfig says how [Provision] sizes the streams, consumers and buckets of one deployment.
// The zero value is valid and gives the defaults below, which are those of DESIGN.md.
type TopologyConfig struct {
	// Names gives every stream, subject, consumer and bucket name. Defaults to audit.DefaultPrefix.
	Names
	// Replicas is the replica count of every stream and bucket: 1 for one server, 3 for a cluster.
	// Defaults to 1.
	Replicas int
	// Storage is where streams and buckets keep their messages. Defaults to jetstream.FileStorage.
	Storage jetstream.StorageType
	// JobsMaxAge is how long a job may wait in the jobs stream. Defaults to 7 days.
	JobsMaxAge time.Duration
	// DuplicateWindow is how long the jobs, audit and dead-letter streams drop a second message with
	// the same Nats-Msg-Id, so that a producer's retry or a redelivered job's event is stored once.
	// At most every MaxAge and StatusTTL. Defaults to 24 hours.
	DuplicateWindow time.Duration
	// AuditMaxAge is how long audit events are kept. Defaults to 400 days.
	AuditMaxAge time.Duration
	// DeadMaxAge is how long dead letters and captured advisories are kept. Defaults to 30 days.
	DeadMaxAge time.Duration
	// StatusTTL is how long a job status outlives its last write. Defaults to 30 days.
	StatusTTL time.Duration
	// AckWait is how long a worker holds a job before the server redelivers it, unless the worker
	// sends InProgress. Defaults to 30 seconds.
	AckWait time.Duration
	// MaxDeliver is a crash-loop backstop only: attempts are counted in the job status, and every
	// Nak counts toward MaxDeliver. Defaults to 100.
	MaxDeliver int
	// MaxAckPending bounds the jobs in flight per consumer across the fleet. Defaults to 1000.
	MaxAckPending int
	// ScheduledKeep is how long the scheduled stream keeps the fired copy of a scheduled job and
	// the record of a canceled one: the tombstones that make a second job with the same id a
	// duplicate after its date (pending schedules are kept until they fire, whatever this says).
	// At least 1 s. Defaults to 400 days.
	ScheduledKeep time.Duration
}

// limitMarkerTTL is how long the budget, guard and locks buckets keep the marker of a key that
// expired by its per-key TTL: long enough for a watcher to hear of the expiry, short enough not
// to pile up. Setting it is what enables per-key TTLs (jetstream.KeyTTL) on a bucket.
const limitMarkerTTL = time.Minute

func (c TopologyConfig) withDefaults() TopologyConfig {
	const day = 24 * time.Hour
	c.Replicas = cmp.Or(c.Replicas, 1)
	c.Storage = cmp.Or(c.Storage, jetstream.FileStorage)
	c.JobsMaxAge = cmp.Or(c.JobsMaxAge, 7*day)
	c.DuplicateWindow = cmp.Or(c.DuplicateWindow, day)
	c.AuditMaxAge = cmp.Or(c.AuditMaxAge, 400*day)
	c.DeadMaxAge = cmp.Or(c.DeadMaxAge, 30*day)
	c.StatusTTL = cmp.Or(c.StatusTTL, 30*day)
	c.AckWait = cmp.Or(c.AckWait, 30*time.Second)
	c.MaxDeliver = cmp.Or(c.MaxDeliver, 100)
	c.MaxAckPending = cmp.Or(c.MaxAckPending, 1000)
	c.ScheduledKeep = cmp.Or(c.ScheduledKeep, 400*day)
	return c
}

func (c TopologyConfig) validate() error {
	if err := c.Names.Validate(); err != nil {
		return err
	}
	var p []string
	if c.Replicas < 1 || c.Replicas > 5 {
		p = append(p, fmt.Sprintf("Replicas %d not in 1–5", c.Replicas))
	}
	if c.Storage != jetstream.FileStorage && c.Storage != jetstream.MemoryStorage {
		p = append(p, fmt.Sprintf("unknown Storage %d", c.Storage))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"JobsMaxAge", c.JobsMaxAge}, {"AuditMaxAge", c.AuditMaxAge}, {"DeadMaxAge", c.DeadMaxAge},
		{"StatusTTL", c.StatusTTL},
	} {
		// The server refuses a duplicate window longer than a stream's MaxAge; a status that expires
		// before the window closes would stop guarding against a second terminal event.
		if d.v < c.DuplicateWindow {
			p = append(p, fmt.Sprintf("%s %v is shorter than DuplicateWindow %v", d.name, d.v, c.DuplicateWindow))
		}
	}
	if c.ScheduledKeep < time.Second { // the server's least Nats-TTL
		p = append(p, fmt.Sprintf("ScheduledKeep %v is shorter than 1s", c.ScheduledKeep))
	}
	if c.DuplicateWindow < 0 || c.AckWait < time.Millisecond || c.MaxDeliver < 1 || c.MaxAckPending < 1 {
		p = append(p, "DuplicateWindow must be positive, AckWait at least 1ms, MaxDeliver and MaxAckPending at least 1")
	}
	if len(p) > 0 {
		return errors.New("jobs: topology config: " + strings.Join(p, "; "))
	}
	return nil
}

// Provision creates the streams, consumers and buckets of the deployment cfg describes, or brings
// existing ones to cfg. It is idempotent and safe for every worker to call at start, also
// concurrently: the last call's config wins, so every worker should run with the same config. A
// stream that cannot be changed in place (retention, storage, deny delete or purge) is left alone
// and reported. Errors start with "jobs: provision <name>: ".
func Provision(ctx context.Context, js jetstream.JetStream, cfg TopologyConfig) error {
	if js == nil {
		return errors.New("jobs: provision: nil JetStream")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	deadline := time.Now().Add(provisionPatience) // for the whole provisioning, not each call
	for _, sc := range cfg.streams() {
		if err := provisionStream(ctx, deadline, js, sc); err != nil {
			return err
		}
	}
	for _, cc := range cfg.consumers() {
		err := retryTransient(ctx, deadline, func() error { _, err := js.CreateOrUpdateConsumer(ctx, cfg.JobsStream(), cc); return err })
		if err != nil {
			return fmt.Errorf("jobs: provision %s: %w", cc.Durable, err)
		}
	}
	dc := cfg.driftConsumer() // on the audit stream (names_drift.go)
	if err := retryTransient(ctx, deadline, func() error { _, err := js.CreateOrUpdateConsumer(ctx, cfg.AuditStream(), dc); return err }); err != nil {
		return fmt.Errorf("jobs: provision %s: %w", dc.Durable, err)
	}
	for _, kc := range cfg.buckets() {
		err := retryTransient(ctx, deadline, func() error { _, err := js.CreateOrUpdateKeyValue(ctx, kc); return err })
		if err != nil {
			return fmt.Errorf("jobs: provision %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// provisionStream creates the stream, and updates it only when it exists with another config: the
// server answers a create with the config the stream already has without changing anything, so
// workers that start together and provision a topology that is already right write nothing. That
// matters since GENESYS_JOBS sources GENESYS_SCHEDULED: nats-server v2.15.2 reads the source
// stream's config without its lock while it checks an update of the stream that sources it
// (server/stream.go:2122), so an update of GENESYS_SCHEDULED racing an update of GENESYS_JOBS
// is a data race in the server (seen with -race in TestProvisionConcurrently).
func provisionStream(ctx context.Context, deadline time.Time, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	err := retryTransient(ctx, deadline, func() error {
		_, err := js.CreateStream(ctx, sc)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // it exists, with another config
			_, err = js.UpdateStream(ctx, sc)
		}
		return err
	})
	if err == nil {
		return nil
	}
	if diff := immutableDiff(ctx, js, sc); diff != "" {
		return fmt.Errorf("jobs: provision %s: existing stream has %s, which cannot change in place (migrate or delete it): %w", sc.Name, diff, err)
	}
	return fmt.Errorf("jobs: provision %s: %w", sc.Name, err)
}

// provisionPatience bounds how long Provision repeats calls that failed transiently.
const provisionPatience = time.Minute

// jsClusterNotAvailable is the JetStream API error code of "JetStream system temporarily
// unavailable" (HTTP-like code 503).
const jsClusterNotAvailable jetstream.ErrorCode = 10008

// jsClusterNoPeers is "no suitable peers for placement" (400): a replicated stream created while
// a node of a fresh cluster has not joined yet (seen in CI: "peer offline"). Repeated within
// provisionPatience it succeeds once the node is up; a cluster that stays short of peers still
// fails, with the same message, when the patience runs out.
const jsClusterNoPeers jetstream.ErrorCode = 10005

// retryTransient repeats f while it fails transiently (see RetryableJetStreamError), backing off from
// 250 ms to 4 s, until deadline or until ctx ends: on a fresh three-node cluster the
// workers that start together race to create the replicated streams, and the calls that lose
// time out or meet "JetStream system temporarily unavailable" while the leaders are elected.
func retryTransient(ctx context.Context, deadline time.Time, f func() error) error {
	wait := 250 * time.Millisecond
	for {
		err := f()
		if err == nil || !RetryableJetStreamError(err) || ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		ctxsleep.Sleep(ctx, wait)
		wait = min(2*wait, 4*time.Second)
	}
}

// RetryableJetStreamError reports whether a JetStream API call that failed with err may succeed
// when repeated: the name race between two creators (the loser's next update succeeds), a timeout, no
// JetStream responder yet, "JetStream system temporarily unavailable" from a cluster without
// leaders, or "no suitable peers for placement" from one whose nodes have not all joined. Other 503s (JetStream not enabled, insufficient resources) are configuration: final.
func RetryableJetStreamError(err error) bool {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, nats.ErrNoResponders):
		return true
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode == jsClusterNotAvailable || apiErr.ErrorCode == jsClusterNoPeers
	}
	return false
}

// immutableDiff describes how an existing stream differs from want in the settings the server
// refuses to update; "" when it does not exist or none differ.
func immutableDiff(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) string {
	s, err := js.Stream(ctx, want.Name)
	if err != nil {
		return ""
	}
	have := s.CachedInfo().Config
	var d []string
	if have.Retention != want.Retention {
		d = append(d, fmt.Sprintf("retention %s (want %s)", have.Retention, want.Retention))
	}
	if have.Storage != want.Storage {
		d = append(d, fmt.Sprintf("storage %s (want %s)", have.Storage, want.Storage))
	}
	if have.DenyDelete && !want.DenyDelete || have.DenyPurge && !want.DenyPurge {
		d = append(d, "deny delete or purge set (want unset)")
	}
	return strings.Join(d, ", ")
}

// streams returns the stream configs. Every stream that must not lose a message on a full disk or
// a limit set later uses DiscardNew: the publisher gets an error and retries, where DiscardOld
// would silently drop the oldest queued job, audit event or dead letter. MaxMsgs and MaxBytes stay
// unlimited (the server's -1); MaxAge alone ages messages out.
//
// The scheduled stream comes first, so that the jobs stream's source names a stream that exists.
func (c TopologyConfig) streams() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{c.scheduledStream(), {
		Name:        c.JobsStream(),
		Description: "deactivation jobs; one consumer per lane, one for the intake of scheduled jobs",
		Subjects: slices.Concat(c.laneSubjects(PriorityUrgent), c.laneSubjects(PriorityNormal), c.cleanupSubjects(),
			[]string{c.IntakeSubjects()}, c.deleteSubjects()),
		Sources:    []*jetstream.StreamSource{c.dueSource()},
		Retention:  jetstream.WorkQueuePolicy, // a job leaves the stream when a worker acks or terms it
		Discard:    jetstream.DiscardNew,
		MaxAge:     c.JobsMaxAge,
		Duplicates: c.DuplicateWindow, // the job id is the Nats-Msg-Id
		Storage:    c.Storage,
		Replicas:   c.Replicas,
	}, {
		Name:        c.AuditStream(),
		Description: "audit events: one terminal event per job, and ops events",
		Subjects:    []string{c.AuditSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxAge:      c.AuditMaxAge,
		Duplicates:  c.DuplicateWindow, // a redelivered job's event is stored once
		DenyDelete:  true,
		DenyPurge:   true,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
	}, {
		Name:        c.DeadStream(),
		Description: "dead letters: jobs an operator must look at",
		Subjects:    []string{c.DeadSubjects()},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxAge:      c.DeadMaxAge,
		Duplicates:  c.DuplicateWindow, // Nats-Msg-Id "dead:<job id>"
		Storage:     c.Storage,
		Replicas:    c.Replicas,
	}, {
		// Advisories are sent once, to whoever listens then; a stream keeps them for a worker or an
		// operator that was not running. They are informational, so the oldest may go.
		Name:        c.AdvisoryStream(),
		Description: "MAX_DELIVERIES and MSG_TERMINATED advisories of " + c.JobsStream(),
		Subjects:    c.AdvisorySubjects(),
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.DeadMaxAge,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
	}}
}

// consumers returns one durable pull consumer per lane, so that urgent jobs never queue behind
// normal ones, nor normal ones behind cleanup jobs. No BackOff: it applies only to AckWait timeouts, and workers NakWithDelay.
func (c TopologyConfig) consumers() []jetstream.ConsumerConfig {
	lane := func(durable, subject string, filter []string) jetstream.ConsumerConfig {
		return jetstream.ConsumerConfig{
			Durable:        durable,
			Description:    "workers taking " + subject + " jobs",
			FilterSubjects: filter,
			DeliverPolicy:  jetstream.DeliverAllPolicy,
			AckPolicy:      jetstream.AckExplicitPolicy,
			AckWait:        c.AckWait,
			MaxDeliver:     c.MaxDeliver,
			MaxAckPending:  c.MaxAckPending,
		}
	}
	return []jetstream.ConsumerConfig{
		lane(c.UrgentConsumer(), c.UrgentSubject(), c.laneSubjects(PriorityUrgent)),
		lane(c.NormalConsumer(), c.NormalSubject(), c.laneSubjects(PriorityNormal)),
		lane(c.CleanupConsumer(), c.CleanupSubject(), c.cleanupSubjects()),
		lane(c.IntakeConsumer(), c.IntakeSubjects(), []string{c.IntakeSubjects()}),
		lane(c.DeleteConsumer(), c.DeleteSubject(), c.deleteSubjects()),
	}
}

// buckets returns the KV configs, all with History 1. The status bucket is written several times
// per job (CAS on the revision) and read for its latest value only; the attempts it needs are in
// the value, so older revisions would only cost storage for StatusTTL. Its TTL applies per key
// from the key's last write. The budget, guard and locks buckets set LimitMarkerTTL, which enables
// per-key TTLs (jetstream.KeyTTL on Create, for leases and rolling windows). History 1 matters
// there too: with more history the server raises every per-key TTL to at least limitMarkerTTL.
func (c TopologyConfig) buckets() []jetstream.KeyValueConfig {
	kv := func(bucket, desc string) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket: bucket, Description: desc, History: 1, LimitMarkerTTL: limitMarkerTTL,
			Storage: c.Storage, Replicas: c.Replicas,
		}
	}
	status := kv(c.StatusBucket(), "job status by job id")
	status.LimitMarkerTTL, status.TTL = 0, c.StatusTTL
	return []jetstream.KeyValueConfig{
		status,
		kv(c.BudgetBucket(), "fleet rate budget"),
		kv(c.GuardBucket(), "mass-deactivation guard"),
		kv(c.LocksBucket(), "leases and locks"),
		c.holdsBucket(),
		c.watchBucket(),
	}
}
