# The project's main jobs. `make check` is the one CI runs (with `cargo test --workspace`).
#
#   make check   build, start the bundled server with the shipped ws.conf on a free port,
#                run the whole corpus at it (the harness starts and stops the server), exit
#                with the harness's code
#   make bench   load our server, lighttpd, nginx and python3 -m http.server with wrk
#   make test    cargo test --workspace

CARGO     ?= cargo
BIN       := $(CURDIR)/target/debug
KEEPALIVE ?= 3
FORMAT    ?= pretty
ARGS      ?=

.PHONY: check build bench test clean

check: build
	$(BIN)/harness run cases \
	    --start '$(BIN)/server --config {config}' --dir . --config patch \
	    --var keepalive=$(KEEPALIVE) --format $(FORMAT) $(ARGS)

build:
	$(CARGO) build --workspace --bins

bench:
	bash bench/run.sh

test:
	$(CARGO) test --workspace

clean:
	$(CARGO) clean
	rm -rf grades
