package auditchain

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// Finding is one place where the stream and the checkpoints disagree.
type Finding struct {
	Seq     uint64 `json:"seq"`
	Problem string `json:"problem"`
}

// Result is what Verify found.
type Result struct {
	Start       uint64    `json:"start"`       // the first sequence chained
	Base        string    `json:"base"`        // link_{Start-1}: Zero or the checkpoint's link
	Last        uint64    `json:"last"`        // the last sequence read
	Messages    uint64    `json:"messages"`    // messages chained
	Checkpoints int       `json:"checkpoints"` // checkpoints that verified and matched
	Sealed      uint64    `json:"sealed"`      // the last sequence a good checkpoint covers (0: none)
	Findings    []Finding `json:"findings,omitempty"`
}

// OK says whether nothing disagreed and at least one checkpoint sealed the chain.
func (r *Result) OK() bool { return len(r.Findings) == 0 && r.Sealed > 0 }

// First is the first bad or missing sequence (0 when none).
func (r *Result) First() *Finding {
	if len(r.Findings) == 0 {
		return nil
	}
	return &r.Findings[0]
}

// maxPending bounds the messages kept since the last good checkpoint (to re-chain from a signed
// link after a disagreement, and to name the changed message).
const maxPending = 4 * MaxSpan

type pending struct {
	seq     uint64
	subject string
	data    []byte
	link    Link
}

// VerifyConfig says what to verify.
type VerifyConfig struct {
	Stream jetstream.Stream
	// CheckpointSubject is the subject of checkpoint events (audit.OpsSubject(prefix, Kind)).
	CheckpointSubject string
	PublicKey         ed25519.PublicKey
	// From, when > 0, starts at the last good checkpoint covering a sequence at or before From
	// instead of the stream's start.
	From uint64
}

// Verify recomputes the chain over the stream and checks every checkpoint in it: signature, key
// and links. It names each sequence where they disagree (changed), is missing (deleted) or where
// a checkpoint does not verify (forged); after a disagreement it goes on from the checkpoint's
// signed link, so Findings holds every place, first first. An error is returned only when the
// stream cannot be read.
func Verify(ctx context.Context, cfg VerifyConfig) (*Result, error) {
	info, err := cfg.Stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Start: 1, Base: Zero.String()}
	base := Zero
	if cfg.From > 0 {
		c, err := lastCheckpointAtOrBefore(ctx, cfg, cfg.From)
		if err != nil {
			return nil, err
		}
		if c != nil {
			res.Start, base, res.Base = c.Seq+1, c.Link, c.Link.String()
		}
	}
	last := info.State.LastSeq
	if last < res.Start {
		return res, nil
	}
	cons, err := cfg.Stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: res.Start})
	if err != nil {
		return nil, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return nil, err
	}
	defer it.Stop()

	h := NewHasher()
	link, expect := base, res.Start
	var pend []pending
	findings := map[uint64]string{}
	add := func(seq uint64, p string) {
		if _, ok := findings[seq]; !ok {
			findings[seq] = p
		}
	}
	for expect <= last {
		m, err := it.Next()
		if err != nil {
			return nil, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, err
		}
		seq := meta.Sequence.Stream
		if seq != expect {
			if seq < expect {
				continue
			}
			p := fmt.Sprintf("missing: sequences %d..%d are not in the stream (deleted)", expect, seq-1)
			if expect == seq-1 {
				p = fmt.Sprintf("missing: sequence %d is not in the stream (deleted)", expect)
			}
			if expect == 1 && res.Start == 1 {
				p += fmt.Sprintf("; the stream starts at %d: if older messages aged out, verify with --from", seq)
			}
			add(expect, p)
		}
		subj, data := m.Subject(), m.Data()
		link = h.Next(link, seq, subj, data)
		res.Messages++
		res.Last, expect = seq, seq+1
		pend = append(pend, pending{seq: seq, subject: subj, data: data, link: link})
		if len(pend) > maxPending {
			pend = slices.Delete(pend, 0, len(pend)-maxPending)
		}
		if subj != cfg.CheckpointSubject {
			continue
		}
		c, isCP, err := ParseEvent(data)
		if !isCP {
			continue
		}
		if err != nil {
			add(seq, "unreadable checkpoint: "+err.Error())
			continue
		}
		if err := c.Verify(cfg.PublicKey); err != nil {
			add(seq, "forged checkpoint: "+err.Error())
			continue
		}
		if c.Seq < res.Start { // the starting checkpoint itself, or older
			continue
		}
		if c.Seq >= seq {
			add(seq, fmt.Sprintf("checkpoint covers sequence %d, not before itself", c.Seq))
			continue
		}
		// compare the span with what was computed
		i := slices.IndexFunc(pend, func(p pending) bool { return p.seq == c.Seq })
		if i < 0 {
			add(c.Seq, fmt.Sprintf("checkpoint at %d covers sequence %d, which was not chained", seq, c.Seq))
			continue
		}
		if pend[i].link != c.Link {
			bad := c.Seq
			for _, p := range pend[:i+1] {
				if want := c.prefixAt(p.seq); want != nil && string(want) != string(p.link[:prefixLen]) {
					bad = p.seq
					break
				}
			}
			add(bad, fmt.Sprintf("changed: the chain at %d differs from the checkpoint at sequence %d (covering %d..%d)", bad, seq, c.From, c.Seq))
			// go on from the signed link: re-chain what followed it
			l := c.Link
			for j := i + 1; j < len(pend); j++ {
				l = h.Next(l, pend[j].seq, pend[j].subject, pend[j].data)
				pend[j].link = l
			}
			link = l
		} else {
			res.Checkpoints++
		}
		res.Sealed = c.Seq
		pend = slices.Delete(pend, 0, i+1)
	}
	for s, p := range findings {
		res.Findings = append(res.Findings, Finding{Seq: s, Problem: p})
	}
	slices.SortFunc(res.Findings, func(a, b Finding) int { return compareU(a.Seq, b.Seq) })
	return res, nil
}

func compareU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lastCheckpointAtOrBefore returns the good checkpoint with the greatest Seq <= at, nil when
// there is none.
func lastCheckpointAtOrBefore(ctx context.Context, cfg VerifyConfig, at uint64) (*Checkpoint, error) {
	var best *Checkpoint
	err := eachCheckpoint(ctx, cfg.Stream, cfg.CheckpointSubject, func(c *Checkpoint) bool {
		if c.Verify(cfg.PublicKey) == nil && c.Seq <= at && (best == nil || c.Seq > best.Seq) {
			best = c
		}
		return true
	})
	return best, err
}

// eachCheckpoint calls fn with each readable checkpoint in the stream, in stream order, until fn
// returns false.
func eachCheckpoint(ctx context.Context, s jetstream.Stream, subject string, fn func(*Checkpoint) bool) error {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return err
	}
	n := info.State.Subjects[subject]
	if n == 0 {
		return nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return err
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	for range n {
		m, err := it.Next()
		if err != nil {
			return err
		}
		if c, ok, err := ParseEvent(m.Data()); ok && err == nil && !fn(c) {
			return nil
		}
	}
	return nil
}
