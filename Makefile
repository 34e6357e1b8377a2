# Benchmarks of the fleet rate budget (docs/budget.md). Not run by go test or CI.
BENCH := go run ./cmd/bench

.PHONY: bench bench-fleet bench-overhead bench-latency bench-baseline
bench: bench-fleet bench-overhead bench-baseline bench-latency

bench-fleet:
	$(BENCH) fleet -limit 100 -window 1s -sizes 1,2,4,8 -windows 4 -concurrency 8

bench-overhead:
	$(BENCH) overhead -jobs 20000 -limit 1000000 -concurrency 16

bench-baseline:
	$(BENCH) baseline -users 1000 -limit 100 -window 1s

# About 6 minutes: 30 idle samples, then 100 urgent jobs 3 s apart behind 10,000 normal ones, at 300/min.
bench-latency:
	$(BENCH) latency -limit 300 -window 1m -idle 30 -backlog 10000 -urgent 100 -urgent-every 3s
