package relay

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
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
	verifier *audit.Verifier
	out      io.Writer
	nowFunc  func() time.Time

	mu       sync.Mutex
	last     map[string]uint64 // highest sequence seen, per source
	received int
	events   []SinkEvent
	journal  io.Writer
}

// SinkEvent is what a Sink keeps of each verified delivery, in the order received.
type SinkEvent struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Type     string    `json:"type"`
	Subject  string    `json:"subject,omitempty"`
	Sequence uint64    `json:"sequence,omitempty"` // 0 when the event had none
	Outcome  string    `json:"outcome,omitempty"`
	Repeat   bool      `json:"repeat,omitempty"` // a sequence at or below one already seen from the source
	Received time.Time `json:"received"`
}

// NewSink returns a Sink that verifies with the given whsec_ secrets and prints to out.
func NewSink(secrets []string, out io.Writer) (*Sink, error) {
	v, err := audit.NewVerifier(audit.DefaultTolerance, secrets...)
	if err != nil {
		return nil, err
	}
	return &Sink{verifier: v, out: out, nowFunc: time.Now, last: map[string]uint64{}}, nil
}

// SetJournal makes the sink append every event it keeps to w as one JSON line (a SinkEvent), so
// that [Sink.Restore] can reload them after a restart. Call it before the sink serves.
func (s *Sink) SetJournal(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.journal = w
}

// Restore reloads the events of a journal written through [Sink.SetJournal], silently: it neither
// prints them nor writes them to the journal again. It returns the length of the journal's
// sound part: a torn last line (the process died while writing it) is skipped, and the caller
// should cut the file back to that length before appending, else the next event would be glued
// to the fragment. Any other line that does not decode is an error. Call it before the sink
// serves.
func (s *Sink) Restore(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	var sound int64
	var bad error
	line := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if bad != nil {
				return sound, bad
			}
			var ev SinkEvent
			if jerr := json.Unmarshal(b, &ev); jerr != nil || ev.ID == "" || b[len(b)-1] != '\n' {
				bad = fmt.Errorf("audit sink journal line %d: not an event", line)
			} else {
				s.keep(ev)
				sound += int64(len(b))
			}
		}
		if errors.Is(err, io.EOF) {
			return sound, nil
		}
		if err != nil {
			return sound, err
		}
	}
}

// keep counts ev and advances its source's sequence. The caller holds s.mu.
func (s *Sink) keep(ev SinkEvent) {
	s.received++
	s.events = append(s.events, ev)
	if ev.Sequence > s.last[ev.Source] {
		s.last[ev.Source] = ev.Sequence
	}
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
		if errors.Is(err, audit.ErrMissingHeaders) || errors.Is(err, audit.ErrInvalidTimestamp) {
			status = http.StatusBadRequest
		}
		http.Error(w, "signature check failed", status)
		return
	}
	var ev sinkEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		s.printf("REFUSED webhook %s: body is not a CloudEvent\n", audit.Clip(r.Header.Get(audit.HeaderWebhookID), 128))
		http.Error(w, "not a CloudEvent", http.StatusBadRequest)
		return
	}
	if err := s.record(ev, r.Header.Get(audit.HeaderWebhookSequence)); err != nil {
		http.Error(w, "cannot keep the event", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// record prints the event, checks its sequence against the source's last one and keeps it,
// writing it to the journal first when there is one; it fails only when the journal does.
func (s *Sink) record(ev sinkEvent, headerSeq string) error {
	seq, err := strconv.ParseUint(ev.Sequence, 10, 64) // leading zeros are fine
	if ev.Sequence == "" {
		seq, err = strconv.ParseUint(headerSeq, 10, 64)
	}
	if err != nil {
		seq = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := SinkEvent{ID: ev.ID, Source: ev.Source, Type: ev.Type, Subject: ev.Subject, Sequence: seq,
		Outcome: ev.Data.Unmapped.Outcome, Received: s.nowFunc().UTC()}
	line := fmt.Sprintf("seq=%d id=%s type=%s subject=%s outcome=%s message=%q", seq, ev.ID, ev.Type, ev.Subject, ev.Data.Unmapped.Outcome, ev.Data.Message)
	last, seen := s.last[ev.Source]
	switch {
	case err != nil:
		fmt.Fprintf(s.out, "%s (no sequence)\n", line)
	case seen && seq <= last:
		kept.Repeat = true
		fmt.Fprintf(s.out, "REPEAT %s\n", line)
	default:
		fmt.Fprintln(s.out, line)
		if seen && seq > last+1 {
			fmt.Fprintf(s.out, "GAP source=%s missing sequences %d-%d\n", ev.Source, last+1, seq-1)
		}
	}
	if s.journal != nil {
		b, _ := json.Marshal(kept) // a SinkEvent always encodes
		if _, err := s.journal.Write(append(b, '\n')); err != nil {
			// Not kept: the sender hears a 503 and delivers it again.
			fmt.Fprintf(s.out, "NOT KEPT id=%s: journal: %v\n", ev.ID, err)
			return fmt.Errorf("journal: %w", err)
		}
	}
	s.keep(kept)
	return nil
}

func (s *Sink) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

// Events returns a copy of every event the sink kept, restored ones first, in the order received.
func (s *Sink) Events() []SinkEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkEvent(nil), s.events...)
}

// Received returns how many verified events the sink has kept (restored ones included).
func (s *Sink) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}
