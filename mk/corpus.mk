# The parser against the real logs in ../shared/corpus: the unit-test suite
# tests/corpus/test_corpus.c runs in check-unit; here the comparison with
# Debian's pflogsumm and the parser benchmark.
CORPUS_DIR ?= $(CURDIR)/../shared/corpus

check-corpus: build/.deps-test $(BUILD)/maillog
	$(MAKE) SANITIZE=1 build/asan/maillog
	tests/corpus/run-asan.sh build/asan/maillog $(CORPUS_DIR)
	tests/corpus/check-pflogsumm.sh $(BUILD)/maillog $(CORPUS_DIR)

bench-parse: build/.deps-test $(BUILD)/maillog
	scripts/bench-parse.sh $(BUILD)/maillog $(CORPUS_DIR)

CHECK_TARGETS += check-corpus
BENCH_TARGETS += bench-parse
.PHONY: check-corpus bench-parse
