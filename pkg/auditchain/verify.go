package auditchain

import (
	"context"
	"crypto/ed25519"
	"errors"
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
//
// Two passes: the checkpoints first (their subject alone), kept by the sequence they end at; then
// every message in order, each link compared with the checkpoint covering it as it is computed.
// So a checkpoint may land any distance after its span (a checkpointer catching up on a backlog)
// and memory grows with the number of checkpoints (4 bytes a covered message and about 250 a
// checkpoint), not with the messages.
func Verify(ctx context.Context, cfg VerifyConfig) (*Result, error) {
	info, err := cfg.Stream.Info(ctx)
	if err != nil {
		return nil, err
	}
	findings := map[uint64]string{}
	add := func(seq uint64, p string) {
		if _, ok := findings[seq]; !ok {
			findings[seq] = p
		}
	}
	// pass 1: the good checkpoints by the sequence they end at; forged ones are findings at their
	// own sequence
	var cps []*Checkpoint // ascending Seq, spans apart
	err = eachCheckpointMsg(ctx, cfg.Stream, cfg.CheckpointSubject, func(at uint64, c *Checkpoint, perr error) {
		switch {
		case perr != nil:
			add(at, "unreadable checkpoint: "+perr.Error())
		case c.Verify(cfg.PublicKey) != nil:
			add(at, "forged checkpoint: "+c.Verify(cfg.PublicKey).Error())
		case c.Seq >= at:
			add(at, fmt.Sprintf("checkpoint covers sequence %d, not before itself", c.Seq))
		case len(cps) > 0 && c.From <= cps[len(cps)-1].Seq:
			// a second checkpoint over sequences already covered: compared on its own below
			// only when it is the same; else it disagrees with the earlier one
			if prev := cps[len(cps)-1]; c.Seq == prev.Seq && c.Link == prev.Link {
				return
			}
			add(at, fmt.Sprintf("checkpoint over %d..%d overlaps the one over %d..%d", c.From, c.Seq, cps[len(cps)-1].From, cps[len(cps)-1].Seq))
		default:
			cps = append(cps, c)
		}
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Start: 1, Base: Zero.String()}
	base := Zero
	if cfg.From > 0 {
		for _, c := range cps {
			if c.Seq <= cfg.From {
				res.Start, base, res.Base = c.Seq+1, c.Link, c.Link.String()
			}
		}
	}
	i := 0 // the next checkpoint that ends at or after the current sequence
	for i < len(cps) && cps[i].Seq < res.Start {
		i++
	}
	last := info.State.LastSeq
	if last >= res.Start {
		// no message left from Start on (all deleted): the ordered consumer would wait for one
		if _, err := cfg.Stream.GetMsg(ctx, res.Start, jetstream.WithGetMsgSubject(">")); errors.Is(err, jetstream.ErrMsgNotFound) {
			add(res.Start, fmt.Sprintf("missing: sequences %d..%d are not in the stream (deleted)", res.Start, last))
			last = 0
		} else if err != nil {
			return nil, err
		}
	}
	if last >= res.Start {
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
		spanBad := false // a finding in the current checkpoint's span already
		for more := true; more && expect <= last; {
			m, err := it.Next()
			if err != nil {
				return nil, err
			}
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			seq := meta.Sequence.Stream
			more = meta.NumPending > 0 // none left: the stream's tail was deleted
			if seq < expect {
				continue
			}
			if seq != expect {
				p := fmt.Sprintf("missing: sequences %d..%d are not in the stream (deleted)", expect, seq-1)
				if expect == seq-1 {
					p = fmt.Sprintf("missing: sequence %d is not in the stream (deleted)", expect)
				}
				if expect == 1 {
					p += fmt.Sprintf("; the stream starts at %d: if older messages aged out, verify with --from", seq)
				}
				add(expect, p)
				spanBad = true
				// checkpoints that ended inside the gap: their spans are broken; go on from the last one
				for i < len(cps) && cps[i].Seq < seq {
					link = cps[i].Link
					res.Sealed = cps[i].Seq
					i++
					spanBad = i < len(cps) && cps[i].From < seq
				}
			}
			link = h.Next(link, seq, m.Subject(), m.Data())
			res.Messages++
			res.Last, expect = seq, seq+1
			if i >= len(cps) || seq < cps[i].From {
				continue // not covered by a checkpoint (yet)
			}
			c := cps[i]
			if want := c.prefixAt(seq); !spanBad && string(want) != string(link[:prefixLen]) {
				add(seq, fmt.Sprintf("changed: the message differs from what the checkpoint over %d..%d signed", c.From, c.Seq))
				spanBad = true
			}
			if seq == c.Seq {
				if link != c.Link {
					if !spanBad {
						add(seq, fmt.Sprintf("changed: the chain at %d differs from the checkpoint's link", seq))
					}
					link = c.Link // go on from the signed link
				} else if !spanBad {
					res.Checkpoints++
				}
				res.Sealed = c.Seq
				spanBad = false
				i++
			}
		}
	}
	if res.Last > 0 && res.Last < last {
		p := fmt.Sprintf("missing: sequences %d..%d are not in the stream (deleted)", res.Last+1, last)
		if res.Last+1 == last {
			p = fmt.Sprintf("missing: sequence %d is not in the stream (deleted)", last)
		}
		add(res.Last+1, p)
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
	err := eachCheckpointMsg(ctx, cfg.Stream, cfg.CheckpointSubject, func(_ uint64, c *Checkpoint, err error) {
		if err == nil && c.Verify(cfg.PublicKey) == nil && c.Seq <= at && (best == nil || c.Seq > best.Seq) {
			best = c
		}
	})
	return best, err
}

// eachCheckpointMsg calls fn with each message on the checkpoint subject, in stream order: its
// sequence and the checkpoint, or why it is not one. It reads them by message gets (the next
// message on the subject from a sequence on), which every role that reads the audit stream may
// do: the checkpointer in a worker creates no consumer on it.
func eachCheckpointMsg(ctx context.Context, s jetstream.Stream, subject string, fn func(at uint64, c *Checkpoint, err error)) error {
	for seq := uint64(1); ; seq++ {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		c, ok, err := ParseEvent(m.Data)
		if !ok {
			err = errors.New("not a checkpoint event")
		}
		fn(m.Sequence, c, err)
		seq = m.Sequence
	}
}
