#!/usr/bin/env bash
# Gradescope runs this once when building the autograder image. The harness is a single static-ish
# binary built beforehand (`cargo build --release -p harness`), so little is needed here; install
# what the students' servers need to build and run (a C compiler, Python, a JDK, ...).
set -e
apt-get update
apt-get install -y build-essential python3 netcat-openbsd
