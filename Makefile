# Approvals: `make run` sets up everything missing and starts the app; `make test` runs
# every test. See README.md.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: run cluster test bench chaos soak check dev site

## Install what is missing, build (release) and run the app with its Dapr sidecar.
run:
	scripts/setup.sh run
	APP_DEMO_USERS=$${APP_DEMO_USERS:-1} scripts/run.sh

## Several replicas on one app id (REPLICAS, default 2): one placement and scheduler, a
## daprd + server pair per replica on http://127.0.0.1:3000, :3001 …, Dapr's state in a
## PostgreSQL of our own, one read model. See README.md, "Several replicas".
cluster:
	scripts/setup.sh run
	APP_DEMO_USERS=$${APP_DEMO_USERS:-1} scripts/cluster.sh

## Format, lints, unit, integration (real daprd) and end-to-end (Chromium) tests.
test:
	scripts/setup.sh test
	scripts/test.sh

## The release build alone (server + site), as `make run` does it.
site:
	scripts/build-site.sh --release

## Benchmarks (release build, fresh stack) into BENCHMARKS.md; BENCH_SCALE shrinks or grows N.
bench:
	scripts/setup.sh test
	scripts/bench.sh

## The chaos suite (release build): processes killed and frozen, the read model locked,
## under a mixed load; checks that nothing was lost, invented or stuck; writes CHAOS.md.
chaos:
	scripts/setup.sh test
	scripts/chaos.sh

## A steady load for SOAK_MINUTES (30) with no faults: stuck workflows, and daprd's and the
## server's memory over time, into SOAK.md. Not part of CI.
soak:
	scripts/setup.sh test
	scripts/chaos.sh --soak

## Rebuild and restart on every change with `cargo leptos watch` (installs cargo-leptos
## 0.3.10 on first use: about 13 minutes on 2 cores). Not needed for run or test.
dev:
	scripts/setup.sh test
	@if [ "$$(cargo leptos --version 2>/dev/null)" != "cargo-leptos 0.3.10" ]; then \
	  cargo install cargo-leptos@0.3.10 --locked --features no_downloads; fi
	APP_DEMO_USERS=$${APP_DEMO_USERS:-1} DATA_DIR=$(CURDIR)/data scripts/dev.sh

check:
	cargo fmt --all --check
	cargo clippy -p server -p bench -p backend -p domain --all-targets -- -D warnings
	cargo clippy -p app --features ssr --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
