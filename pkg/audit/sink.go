package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxSinkBody bounds a delivery the sink reads.
const maxSinkBody = 1 << 20

// Sink is a webhook receiver for development and tests: an http.Handler that verifies every
// delivery's Standard Webhooks signature, checks the audit sequence for gaps per CloudEvents
// source, prints one line per event to its writer, and answers 204 (or 401 when the signature
// does not verify, 400 for a body that is not an event). `worker --dev` points the relay at one.
// A Sink is safe for concurrent use.
//
// A line looks like
//
//	seq=42 id=de16db6b-… type=com.offboard-dev.genesys.user.deactivated subject=0b5c… outcome=deactivated message="Genesys Cloud user deactivated"
//
// and is followed by "GAP source=… missing sequences 40-41" when events were skipped, or starts
// with "REPEAT" for a sequence at or below one already seen (a retry or a replay).
type Sink struct {
	verifier *Verifier
	out      io.Writer
	nowFunc  func() time.Time

	mu       sync.Mutex
	last     map[string]uint64 // highest sequence seen, per source
	received int
}

// NewSink returns a Sink that verifies with the given whsec_ secrets and prints to out.
func NewSink(secrets []string, out io.Writer) (*Sink, error) {
	v, err := NewVerifier(DefaultTolerance, secrets...)
	if err != nil {
		return nil, err
	}
	return &Sink{verifier: v, out: out, nowFunc: time.Now, last: map[string]uint64{}}, nil
}

// sinkEvent is what the sink reads of a CloudEvent.
type sinkEvent struct {
	ID       string `json:"id"`
	Source   string `json:"source"`
	Type     string `json:"type"`
	Subject  string `json:"subject"`
	Sequence string `json:"sequence"`
	Data     struct {
		Message  string `json:"message"`
		Unmapped struct {
			Outcome string `json:"outcome"`
		} `json:"unmapped"`
	} `json:"data"`
}

// ServeHTTP handles one delivery.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSinkBody))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := s.verifier.Verify(r.Header, body, s.nowFunc()); err != nil {
		s.printf("REFUSED %s\n", err)
		status := http.StatusUnauthorized
		if errors.Is(err, ErrMissingHeaders) || errors.Is(err, ErrInvalidTimestamp) {
			status = http.StatusBadRequest
		}
		http.Error(w, "signature check failed", status)
		return
	}
	var ev sinkEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		s.printf("REFUSED webhook %s: body is not a CloudEvent\n", clip(r.Header.Get(HeaderWebhookID), 128))
		http.Error(w, "not a CloudEvent", http.StatusBadRequest)
		return
	}
	s.record(ev, r.Header.Get(HeaderWebhookSequence))
	w.WriteHeader(http.StatusNoContent)
}

// record prints the event and checks its sequence against the source's last one.
func (s *Sink) record(ev sinkEvent, headerSeq string) {
	seq, err := strconv.ParseUint(ev.Sequence, 10, 64) // leading zeros are fine
	if ev.Sequence == "" {
		seq, err = strconv.ParseUint(headerSeq, 10, 64)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	line := fmt.Sprintf("seq=%d id=%s type=%s subject=%s outcome=%s message=%q", seq, ev.ID, ev.Type, ev.Subject, ev.Data.Unmapped.Outcome, ev.Data.Message)
	last, seen := s.last[ev.Source]
	switch {
	case err != nil:
		fmt.Fprintf(s.out, "%s (no sequence)\n", line)
		return
	case seen && seq <= last:
		fmt.Fprintf(s.out, "REPEAT %s\n", line)
		return
	}
	fmt.Fprintln(s.out, line)
	if seen && seq > last+1 {
		fmt.Fprintf(s.out, "GAP source=%s missing sequences %d-%d\n", ev.Source, last+1, seq-1)
	}
	s.last[ev.Source] = seq
}

func (s *Sink) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

// Received returns how many verified events the sink has printed.
func (s *Sink) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}
