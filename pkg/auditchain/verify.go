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
	v := &verifier{cfg: cfg, findings: map[uint64]string{}, h: NewHasher(), res: &Result{Start: 1, Base: Zero.String()}}
	if err := eachCheckpointMsg(ctx, cfg.Stream, cfg.CheckpointSubject, v.checkpoint); err != nil {
		return nil, err
	}
	v.begin()
	if err := v.chain(ctx, info.State.LastSeq); err != nil {
		return nil, err
	}
	for s, p := range v.findings {
		v.res.Findings = append(v.res.Findings, Finding{Seq: s, Problem: p})
	}
	slices.SortFunc(v.res.Findings, func(a, b Finding) int { return compareU(a.Seq, b.Seq) })
	return v.res, nil
}

// verifier is one run of Verify.
type verifier struct {
	cfg      VerifyConfig
	res      *Result
	findings map[uint64]string
	cps      []*Checkpoint // the good checkpoints, ascending Seq, spans apart
	h        *Hasher

	i       int    // the next checkpoint, the first that ends at or after the current sequence
	link    Link   // the link of the last message chained
	expect  uint64 // the next sequence
	spanBad bool   // a finding in the current checkpoint's span already
}

func (v *verifier) add(seq uint64, p string) {
	if _, ok := v.findings[seq]; !ok {
		v.findings[seq] = p
	}
}

// checkpoint is pass 1: it keeps a good checkpoint by the sequence it ends at; a forged one is a
// finding at its own sequence.
func (v *verifier) checkpoint(at uint64, c *Checkpoint, perr error) {
	if perr != nil {
		v.add(at, "unreadable checkpoint: "+perr.Error())
		return
	}
	if err := c.Verify(v.cfg.PublicKey); err != nil {
		v.add(at, "forged checkpoint: "+err.Error())
		return
	}
	if c.Seq >= at {
		v.add(at, fmt.Sprintf("checkpoint covers sequence %d, not before itself", c.Seq))
		return
	}
	if n := len(v.cps); n > 0 && c.From <= v.cps[n-1].Seq {
		if prev := v.cps[n-1]; c.Seq != prev.Seq || c.Link != prev.Link { // the same one again is harmless
			v.add(at, fmt.Sprintf("checkpoint over %d..%d overlaps the one over %d..%d", c.From, c.Seq, prev.From, prev.Seq))
		}
		return
	}
	v.cps = append(v.cps, c)
}

// begin sets the start: sequence 1 and link_0, or with From the last good checkpoint at or
// before it.
func (v *verifier) begin() {
	v.link = Zero
	if v.cfg.From > 0 {
		for _, c := range v.cps {
			if c.Seq <= v.cfg.From {
				v.res.Start, v.link, v.res.Base = c.Seq+1, c.Link, c.Link.String()
			}
		}
	}
	for v.i < len(v.cps) && v.cps[v.i].Seq < v.res.Start {
		v.i++
	}
	v.expect = v.res.Start
}

// chain is pass 2: every message from Start to last, in order.
func (v *verifier) chain(ctx context.Context, last uint64) error {
	if last < v.res.Start {
		return nil
	}
	// no message left from Start on (all deleted): the ordered consumer would wait for one
	if _, err := v.cfg.Stream.GetMsg(ctx, v.res.Start, jetstream.WithGetMsgSubject(">")); errors.Is(err, jetstream.ErrMsgNotFound) {
		v.missing(v.res.Start, last+1)
		return nil
	} else if err != nil {
		return err
	}
	cons, err := v.cfg.Stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: v.res.Start})
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return err
	}
	defer it.Stop()
	for more := true; more && v.expect <= last; {
		m, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		more = meta.NumPending > 0 // none left: the stream's tail was deleted
		if seq := meta.Sequence.Stream; seq >= v.expect {
			v.message(seq, m.Subject(), m.Data())
		}
	}
	if v.expect <= last {
		v.missing(v.expect, last+1)
	}
	return nil
}

// missing reports the gap from..to-1.
func (v *verifier) missing(from, to uint64) {
	p := fmt.Sprintf("missing: sequences %d..%d are not in the stream (deleted)", from, to-1)
	if from == to-1 {
		p = fmt.Sprintf("missing: sequence %d is not in the stream (deleted)", from)
	}
	if from == 1 {
		p += fmt.Sprintf("; the stream starts at %d: if older messages aged out, verify with --from", to)
	}
	v.add(from, p)
}

// message chains one message and compares its link with the checkpoint covering it.
func (v *verifier) message(seq uint64, subject string, data []byte) {
	if seq != v.expect {
		v.missing(v.expect, seq)
		v.spanBad = true
		// checkpoints that ended inside the gap: their spans are broken; go on from the last one
		for v.i < len(v.cps) && v.cps[v.i].Seq < seq {
			v.link, v.res.Sealed = v.cps[v.i].Link, v.cps[v.i].Seq
			v.i++
			v.spanBad = v.i < len(v.cps) && v.cps[v.i].From < seq
		}
	}
	v.link = v.h.Next(v.link, seq, subject, data)
	v.res.Messages++
	v.res.Last, v.expect = seq, seq+1
	if v.i >= len(v.cps) || seq < v.cps[v.i].From {
		return // not covered by a checkpoint (yet)
	}
	c := v.cps[v.i]
	if want := c.prefixAt(seq); !v.spanBad && string(want) != string(v.link[:prefixLen]) {
		v.add(seq, fmt.Sprintf("changed: the message differs from what the checkpoint over %d..%d signed", c.From, c.Seq))
		v.spanBad = true
	}
	if seq != c.Seq {
		return
	}
	switch {
	case v.link != c.Link && !v.spanBad:
		v.add(seq, fmt.Sprintf("changed: the chain at %d differs from the checkpoint's link", seq))
	case v.link == c.Link && !v.spanBad:
		v.res.Checkpoints++
	}
	v.link, v.res.Sealed, v.spanBad = c.Link, c.Seq, false // go on from the signed link
	v.i++
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
