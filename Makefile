# The project's main jobs. `make check` is the one CI runs (with `cargo test --workspace`).
#
#   make check   build, start the bundled server with the shipped ws.conf on a free port,
#                run the assignment corpus (cases/assignment) at it (the harness starts and
#                stops the server), exit with the harness's code
#   make rfc     the same with the RFC 9110/9112 corpus (cases tagged rfc: cases/rfc9112,
#                cases/rfc9110); the reference misses only the SHOULDs where the assignment
#                asks otherwise (docs/matrix.md, cases/rfc9112/README.md)
#   make matrix  install nginx, apache2, lighttpd, busybox, mini-httpd (apt-get) if missing,
#                run the RFC corpus at each and at the reference, write docs/matrix.md/.html
#   make bench   load our server, lighttpd, nginx and python3 -m http.server with wrk
#   make test    cargo test --workspace

CARGO     ?= cargo
BIN       := $(CURDIR)/target/debug
KEEPALIVE ?= 3
# The RFC corpus waits up to 3s for most answers: its servers run with a KeepaliveTime 2s clear.
RFC_KEEPALIVE ?= 5
FORMAT    ?= pretty
ARGS      ?=

.PHONY: check rfc matrix build release bench test clean

check: build
	$(BIN)/harness run cases/assignment \
	    --start '$(BIN)/server --config {config}' --dir . --config patch \
	    --var keepalive=$(KEEPALIVE) --format $(FORMAT) $(ARGS)

rfc: build
	$(BIN)/harness run cases --tag rfc \
	    --start '$(BIN)/server --config {config}' --dir . --config patch \
	    --var keepalive=$(RFC_KEEPALIVE) --format $(FORMAT) $(ARGS)

matrix: release
	bash contrib/matrix/install.sh
	python3 contrib/matrix/matrix.py $(ARGS)

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --release -p harness -p server

bench:
	bash bench/run.sh

test:
	$(CARGO) test --workspace

clean:
	$(CARGO) clean
	rm -rf grades
