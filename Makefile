# Approvals: `make run` sets up everything missing and starts the app; `make test` runs
# every test. See README.md.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export LEPTOS_OUTPUT_NAME := approvals

.PHONY: run test setup build-release check bench

## Install what is missing, build (release) and run the app with its Dapr sidecar.
run: setup build-release
	APP_DEMO_USERS=$${APP_DEMO_USERS:-1} scripts/run.sh

## Format, lint, unit, integration (real daprd) and end-to-end (Chromium) tests.
test: setup
	scripts/test.sh

setup:
	scripts/setup.sh

build-release:
	cargo leptos build --release

## Benchmarks (release build, fresh stack) into BENCHMARKS.md; BENCH_SCALE shrinks or grows N.
bench: setup
	scripts/bench.sh

check:
	cargo fmt --all --check
	cargo clippy -p server -p bench --all-targets -- -D warnings
	cargo clippy -p app --features ssr --all-targets -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
