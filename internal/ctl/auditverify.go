package ctl

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"

	"github.com/offboard-dev/genesys-deactivator/pkg/audit"
	"github.com/offboard-dev/genesys-deactivator/pkg/auditchain"
)

// chainOpts are the flags of genesysctl audit verify.
type chainOpts struct {
	PublicKey string // --public-key FILE
	From      uint64 // --from SEQ
	key       ed25519.PublicKey
}

func auditVerifyCommand() *command {
	return &command{
		name: "audit verify", args: "--public-key FILE [--from SEQ]",
		summary: "Recomputes the hash chain over the audit stream and checks every signed checkpoint\n" +
			"(ops events audit_checkpoint). Names the first sequence that was changed, deleted or whose\n" +
			"checkpoint is forged. Exit 0 when the chain verifies up to the last checkpoint, 1 when it does\n" +
			"not (or there is no checkpoint yet), 2 on bad arguments. Read-only: the auditor role may run it.",
		flags: func(fs *flag.FlagSet, o *opts) {
			fs.StringVar(&o.Chain.PublicKey, "public-key", "", "the checkpointer's Ed25519 public key, PEM (openssl pkey -in key.pem -pubout); required")
			fs.Uint64Var(&o.Chain.From, "from", 0, "start at the last checkpoint covering a sequence at or before SEQ, not at the stream's start")
		},
		check: func(o *opts, args []string) error {
			if err := noArgs(args); err != nil {
				return err
			}
			if o.Chain.PublicKey == "" {
				return errors.New("--public-key FILE is required")
			}
			k, err := auditchain.LoadPublicKey(o.Chain.PublicKey)
			if err != nil {
				return fmt.Errorf("--public-key: %w", err)
			}
			o.Chain.key = k
			return nil
		},
		run: func(ctx context.Context, s *session, o *opts, _ []string) int {
			st, err := s.js.Stream(ctx, s.names.AuditStream())
			if err != nil {
				return s.fail("audit verify", err)
			}
			res, err := auditchain.Verify(ctx, auditchain.VerifyConfig{Stream: st, PublicKey: o.Chain.key, From: o.Chain.From,
				CheckpointSubject: audit.OpsSubject(s.names.EffectivePrefix(), auditchain.Kind)})
			if err != nil {
				return s.fail("audit verify", err)
			}
			return s.printChain(res, o.Chain.key)
		},
	}
}

// chainLine is the JSON form of the result.
type chainLine struct {
	OK    bool   `json:"ok"`
	KeyID string `json:"key_id"`
	*auditchain.Result
	FirstBad uint64 `json:"first_bad,omitempty"`
}

func (s *session) printChain(r *auditchain.Result, key ed25519.PublicKey) int {
	code := ExitOK
	if !r.OK() {
		code = ExitFailure
	}
	if s.json {
		l := chainLine{OK: r.OK(), KeyID: auditchain.KeyID(key), Result: r}
		if f := r.First(); f != nil {
			l.FirstBad = f.Seq
		}
		s.emit(l)
		return code
	}
	fmt.Fprintf(s.stdout, "chained %d messages, sequences %d..%d (key %s, from link %s)\n", r.Messages, r.Start, r.Last, auditchain.KeyID(key), r.Base)
	if f := r.First(); f != nil {
		fmt.Fprintf(s.stdout, "TAMPERED: first bad sequence %d: %s\n", f.Seq, f.Problem)
		for _, f := range r.Findings[1:] {
			fmt.Fprintf(s.stdout, "  also sequence %d: %s\n", f.Seq, f.Problem)
		}
		return code
	}
	if r.Sealed == 0 {
		fmt.Fprintln(s.stdout, "NOT VERIFIED: no checkpoint of this key covers any of these messages")
		return code
	}
	fmt.Fprintf(s.stdout, "OK: %d checkpoints verify; sealed up to sequence %d", r.Checkpoints, r.Sealed)
	if r.Last > r.Sealed {
		fmt.Fprintf(s.stdout, "; %d..%d await the next checkpoint", r.Sealed+1, r.Last)
	}
	fmt.Fprintln(s.stdout)
	return code
}
