package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrTopology is what a [TopologyError] matches with errors.Is: a stream, consumer or bucket is
// missing or differs from what the deployment needs.
var ErrTopology = errors.New("jobs: topology differs from what is required")

// TopologyError lists every way the streams, consumers and buckets on the server differ from a
// TopologyConfig, one problem per entry, each naming the stream, consumer or bucket.
type TopologyError struct {
	Problems []string
	// Missing is true when at least one stream, consumer or bucket does not exist at all.
	Missing bool
}

func (e *TopologyError) Error() string {
	return "jobs: topology differs from what is required: " + strings.Join(e.Problems, "; ")
}

func (e *TopologyError) Is(target error) bool { return target == ErrTopology }

// Verify checks, without changing anything, that the streams, consumers and buckets of the
// deployment cfg describes exist and are at least as strict as [Provision] makes them: same
// subjects, retention, discard policy, storage and replicas; deny delete and purge where Provision
// sets them; no roll-up, per-message TTL, mirror or source on the jobs, audit and dead-letter
// streams; no message, byte or per-subject limit; a max age and a duplicate window at least the
// required ones (0, unlimited, is enough); the lane consumers exactly as Provision makes them.
// Workers call it at start, so that a worker never runs on a topology someone has weakened (for
// example an audit stream shrunk to one message), and so that the worker's NATS user needs no
// right to create or update streams. It returns a *TopologyError (errors.Is ErrTopology) that
// lists every difference, or another error when the server could not be asked.
func Verify(ctx context.Context, js jetstream.JetStream, cfg TopologyConfig) error {
	if js == nil {
		return errors.New("jobs: verify: nil JetStream")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	v := &verifier{ctx: ctx, js: js, deadline: time.Now().Add(provisionPatience)}
	for _, sc := range cfg.streams() {
		if have, ok := v.stream(sc.Name); ok {
			v.checkStream(sc, have)
		}
	}
	for _, cc := range cfg.consumers() {
		if have, ok := v.consumer(cfg.JobsStream(), cc.Durable); ok {
			v.checkConsumer(cc, have)
		}
	}
	dc := cfg.driftConsumer() // on the audit stream (names_drift.go)
	if have, ok := v.consumer(cfg.AuditStream(), dc.Durable); ok {
		v.checkConsumer(dc, have)
	}
	for _, kc := range cfg.buckets() {
		if have, ok := v.stream("KV_" + kc.Bucket); ok {
			v.checkBucket(kc, have)
		}
	}
	if v.err != nil {
		return v.err
	}
	if len(v.problems) > 0 {
		return &TopologyError{Problems: v.problems, Missing: v.missing}
	}
	return nil
}

// verifier collects the problems Verify finds; err is set when the server could not be asked.
type verifier struct {
	ctx      context.Context
	js       jetstream.JetStream
	deadline time.Time
	problems []string
	missing  bool
	err      error
}

func (v *verifier) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// stream returns a stream's config; ok is false when it is missing (recorded) or the lookup failed.
func (v *verifier) stream(name string) (jetstream.StreamConfig, bool) {
	if v.err != nil {
		return jetstream.StreamConfig{}, false
	}
	var info *jetstream.StreamInfo
	err := retryTransient(v.ctx, v.deadline, func() error {
		s, err := v.js.Stream(v.ctx, name)
		if err == nil {
			info = s.CachedInfo()
		}
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		v.addf("stream %s is missing", name)
		v.missing = true
		return jetstream.StreamConfig{}, false
	case err != nil:
		v.err = fmt.Errorf("jobs: verify %s: %w", name, err)
		return jetstream.StreamConfig{}, false
	}
	return info.Config, true
}

func (v *verifier) consumer(stream, name string) (jetstream.ConsumerConfig, bool) {
	if v.err != nil {
		return jetstream.ConsumerConfig{}, false
	}
	var info *jetstream.ConsumerInfo
	err := retryTransient(v.ctx, v.deadline, func() error {
		c, err := v.js.Consumer(v.ctx, stream, name)
		if err == nil {
			info = c.CachedInfo()
		}
		return err
	})
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrStreamNotFound):
		v.addf("consumer %s on %s is missing", name, stream)
		v.missing = true
		return jetstream.ConsumerConfig{}, false
	case err != nil:
		v.err = fmt.Errorf("jobs: verify consumer %s: %w", name, err)
		return jetstream.ConsumerConfig{}, false
	}
	return info.Config, true
}

// checkStream compares an existing stream with what Provision makes of it.
func (v *verifier) checkStream(want, have jetstream.StreamConfig) {
	n := want.Name
	v.common(n, want, have)
	if !sameSet(have.Subjects, want.Subjects) {
		v.addf("%s subjects %q (want %q)", n, have.Subjects, want.Subjects)
	}
	if have.Retention != want.Retention {
		v.addf("%s retention %s (want %s)", n, have.Retention, want.Retention)
	}
	if have.MaxMsgsPerSubject > 0 {
		v.addf("%s max messages per subject %d (want unlimited)", n, have.MaxMsgsPerSubject)
	}
	if want.Duplicates > 0 && have.Duplicates < want.Duplicates {
		v.addf("%s duplicate window %v (want at least %v)", n, have.Duplicates, want.Duplicates)
	}
	if want.DenyPurge && !have.DenyPurge {
		v.addf("%s allows purge (want deny purge)", n)
	}
	if want.Discard == jetstream.DiscardNew {
		// Streams that must not lose a message: no way to expire, roll up or inject one either.
		if have.AllowRollup {
			v.addf("%s allows roll-ups (want none)", n)
		}
		if have.AllowMsgTTL {
			v.addf("%s allows per-message TTLs (want none)", n)
		}
	}
	if have.Mirror != nil {
		v.addf("%s has a mirror (want none)", n)
	}
	if !sameSources(have.Sources, want.Sources) {
		v.addf("%s sources %s (want %s)", n, describeSources(have.Sources), describeSources(want.Sources))
	}
	if want.AllowMsgSchedules && (!have.AllowMsgSchedules || !have.AllowMsgTTL || have.DenyPurge) {
		v.addf("%s message schedules %t, per-message TTLs %t, deny purge %t (want true, true, false)", n,
			have.AllowMsgSchedules, have.AllowMsgTTL, have.DenyPurge)
	}
	if !want.AllowMsgSchedules && have.AllowMsgSchedules {
		v.addf("%s allows message schedules (want none)", n)
	}
	if have.Sealed {
		v.addf("%s is sealed", n)
	}
}

// checkBucket compares a bucket's stream with what Provision makes of it (see
// jetstream.KeyValueConfig: history is the per-subject limit, TTL the max age).
func (v *verifier) checkBucket(want jetstream.KeyValueConfig, have jetstream.StreamConfig) {
	n := "bucket " + want.Bucket
	v.common(n, jetstream.StreamConfig{
		Discard: jetstream.DiscardNew, MaxAge: want.TTL, DenyDelete: true,
		Storage: want.Storage, Replicas: want.Replicas,
	}, have)
	if subj := "$KV." + want.Bucket + ".>"; !slices.Equal(have.Subjects, []string{subj}) {
		v.addf("%s subjects %q (want %q)", n, have.Subjects, subj)
	}
	if have.MaxMsgsPerSubject != int64(max(want.History, 1)) {
		v.addf("%s history %d (want %d)", n, have.MaxMsgsPerSubject, max(want.History, 1))
	}
	if have.SubjectDeleteMarkerTTL != want.LimitMarkerTTL || have.AllowMsgTTL != (want.LimitMarkerTTL > 0) {
		v.addf("%s limit marker TTL %v, per-key TTLs %t (want %v, %t)", n, have.SubjectDeleteMarkerTTL, have.AllowMsgTTL,
			want.LimitMarkerTTL, want.LimitMarkerTTL > 0)
	}
	if !have.AllowDirect {
		v.addf("%s does not allow direct gets", n)
	}
	if have.Mirror != nil || len(have.Sources) > 0 {
		v.addf("%s has a mirror or sources (want none)", n)
	}
}

// common checks what streams and bucket streams share: discard policy, storage, replicas, deny
// delete, max age at least the wanted one, and no message or byte limit.
func (v *verifier) common(n string, want, have jetstream.StreamConfig) {
	if have.Discard != want.Discard {
		v.addf("%s discard policy %s (want %s)", n, have.Discard, want.Discard)
	}
	if have.Storage != want.Storage {
		v.addf("%s storage %s (want %s)", n, have.Storage, want.Storage)
	}
	if have.Replicas != max(want.Replicas, 1) {
		v.addf("%s replicas %d (want %d)", n, have.Replicas, max(want.Replicas, 1))
	}
	if want.DenyDelete && !have.DenyDelete {
		v.addf("%s allows deleting messages (want deny delete)", n)
	}
	if !ageAtLeast(have.MaxAge, want.MaxAge) {
		v.addf("%s max age %v (want %s)", n, have.MaxAge, ageWant(want.MaxAge))
	}
	if have.MaxMsgs > 0 || have.MaxBytes > 0 {
		v.addf("%s max messages %d, max bytes %d (want unlimited)", n, have.MaxMsgs, have.MaxBytes)
	}
}

// ageAtLeast reports whether a max age keeps messages at least as long as want; 0 is unlimited.
func ageAtLeast(have, want time.Duration) bool {
	if have == 0 {
		return true
	}
	return want != 0 && have >= want
}

func ageWant(want time.Duration) string {
	if want == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("at least %v", want)
}

// checkConsumer compares a lane consumer with what Provision makes of it: the worker's ack
// timing, delivery count and in-flight bound depend on these values, so they must match exactly.
func (v *verifier) checkConsumer(want, have jetstream.ConsumerConfig) {
	n := "consumer " + want.Durable
	haveSubj := have.FilterSubjects
	if have.FilterSubject != "" {
		haveSubj = append(slices.Clone(haveSubj), have.FilterSubject)
	}
	if !sameSet(haveSubj, want.FilterSubjects) {
		v.addf("%s filter subjects %q (want %q)", n, haveSubj, want.FilterSubjects)
	}
	if have.DeliverPolicy != want.DeliverPolicy {
		v.addf("%s deliver policy %s (want %s)", n, have.DeliverPolicy, want.DeliverPolicy)
	}
	if have.AckPolicy != want.AckPolicy {
		v.addf("%s ack policy %s (want %s)", n, have.AckPolicy, want.AckPolicy)
	}
	if have.AckWait != want.AckWait {
		v.addf("%s ack wait %v (want %v)", n, have.AckWait, want.AckWait)
	}
	if have.MaxDeliver != want.MaxDeliver {
		v.addf("%s max deliver %d (want %d)", n, have.MaxDeliver, want.MaxDeliver)
	}
	if have.MaxAckPending != want.MaxAckPending {
		v.addf("%s max ack pending %d (want %d)", n, have.MaxAckPending, want.MaxAckPending)
	}
	if len(have.BackOff) > 0 {
		v.addf("%s has a redelivery back-off %v (want none)", n, have.BackOff)
	}
}

// sameSources reports whether two streams' sources are the same streams with the same filters
// and transforms (a start sequence or time, set by the server or an operator, does not matter).
func sameSources(a, b []*jetstream.StreamSource) bool {
	return slices.Equal(sourceKeys(a), sourceKeys(b))
}

func sourceKeys(ss []*jetstream.StreamSource) []string {
	var keys []string
	for _, s := range ss {
		k := s.Name
		if s.FilterSubject != "" {
			k += " filter " + s.FilterSubject
		}
		for _, t := range s.SubjectTransforms {
			k += " " + t.Source + " → " + t.Destination
		}
		if s.External != nil {
			k += " external " + s.External.APIPrefix
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func describeSources(ss []*jetstream.StreamSource) string {
	if len(ss) == 0 {
		return "none"
	}
	return fmt.Sprintf("%q", sourceKeys(ss))
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
