# Benchmarks of the fleet rate budget (README, "Benchmarks"). Not run by go test or CI.
BENCH := go run ./cmd/bench

.PHONY: bench bench-fleet bench-overhead bench-latency bench-baseline bench-plan bench-schedule bench-drift bench-reconcile bench-report bench-chain bench-ingress
bench: bench-fleet bench-overhead bench-baseline bench-latency bench-plan bench-schedule bench-drift bench-reconcile bench-report bench-chain bench-ingress

bench-fleet:
	$(BENCH) fleet -limit 100 -window 1s -sizes 1,2,4,8 -windows 4 -concurrency 8

bench-overhead:
	$(BENCH) overhead -jobs 20000 -limit 1000000 -concurrency 256

bench-baseline:
	$(BENCH) baseline -users 1000 -limit 100 -window 1s

# About 6 minutes: 30 idle samples, then 100 urgent jobs 3 s apart behind 10,000 normal ones, at 300/min.
bench-latency:
	$(BENCH) latency -limit 300 -window 1m -idle 30 -backlog 10000 -urgent 100 -urgent-every 3s

# About 7 minutes: the calls of 20 agents' full offboarding one at a time, then 100 urgent leavers
# 3 s apart behind 1,000 leavers queued with the full contact-center plan, at 300/min.
bench-plan:
	$(BENCH) plan -limit 300 -window 1m -steps all -cost-users 20 -backlog 1000 -urgent 100 -urgent-every 3s

# About 11 minutes: 1,000 deactivations scheduled 20 s ahead, all for the same instant, fired into
# their lane and run at 300/min with the base plan (3 calls each: the last one about 10 min later).
bench-schedule:
	$(BENCH) schedule -jobs 1000 -ahead 20s -limit 300 -window 1m -steps none

# About 5 minutes: the drift watch over 10,000 watched users at 5 % of 300/min, shared with two
# workers offboarding a leaver every 3 s; its call rate is measured over 4 minutes and the full
# cycle computed from it (a real cycle takes hours at this share).
bench-drift:
	$(BENCH) drift -limit 300 -window 1m -watched 10000 -share 0.05 -measure 4m -urgent-every 3s

# About 4 minutes: worker reconcile over a 10,000-row HR list at 10 % of 300/min, shared with two
# workers offboarding a leaver every 3 s; its call rate is measured over 3 minutes and the full run
# computed from it (a real run takes hours at this share).
bench-reconcile:
	$(BENCH) reconcile -limit 300 -window 1m -rows 10000 -share 0.1 -measure 3m -urgent-every 3s

# A few minutes: 1,000,000 audit events (a year's mix) generated into a file-backed audit stream,
# then genesysctl report over them twice, each in its own process: events/s and peak RSS.
bench-report:
	$(BENCH) report -events 1000000 -runs 2

# About a minute: the audit chain's cost: one link over a typical 1.2 KiB event, then one
# checkpointer (every 100 events) over 100,000 events stored beforehand in a file-backed stream on
# an in-process nats-server (ns/event, allocations), and the verify that follows (verify-ns/msg).
bench-chain:
	go test -run '^$$' -bench 'Link' -benchmem ./pkg/auditchain
	go test -run '^$$' -bench 'Checkpointer' -benchtime 100000x -benchmem -timeout 20m ./pkg/auditchain

# About a minute: signed webhook events accepted per second by one ingress process (built from
# ./cmd/ingress, its own process) storing each job in a file-backed nats-server (R1) before it
# answers; 3 runs of 20,000 single-event requests, then 3 of 20,000 events in JSON-lines batches
# of 50, 16 requests in flight over keep-alive connections (events/s, p50/p99 per request; 64
# in flight queue longer for no more throughput on 2 CPUs).
bench-ingress:
	$(BENCH) ingress -jobs 20000 -batch 50 -concurrency 16 -runs 3

# Container images (README, "Containers"), each FROM scratch with one static binary: built from
# binaries compiled here, so nothing is pulled. IMAGE_TAG=test is what the integration tests use.
IMAGE_TAG ?= latest
IMAGE_CONTEXT ?= bin/images
IMAGE_TARGETS := worker relay ingress genesys-sim enqueue nats-server

.PHONY: images
images:
	rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)/data
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o $(IMAGE_CONTEXT)/ \
		./cmd/worker ./cmd/relay ./cmd/ingress ./cmd/genesys-sim ./cmd/enqueue github.com/nats-io/nats-server/v2
	cp /etc/ssl/certs/ca-certificates.crt build/Dockerfile $(IMAGE_CONTEXT)/
	for t in $(IMAGE_TARGETS); do \
		docker build -q --target $$t -t genesys-deactivator/$$t:$(IMAGE_TAG) $(IMAGE_CONTEXT) || exit 1; \
	done
