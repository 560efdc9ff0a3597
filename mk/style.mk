# Style: every C file formatted by the committed .clang-format, cppcheck
# clean (`make lint`). Part of make check so that it stays true.
STYLE_FILES = $(wildcard src/*/*.c src/*/*.h tests/*.c tests/*/*.c tests/*/*.h)

check-style: build/.deps-test
	@bad=$$(for f in $(STYLE_FILES); do clang-format --dry-run -Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$bad" ]; then echo "check-style: not clang-formatted (run make format):"; echo "$$bad"; exit 1; fi
	$(MAKE) --no-print-directory lint
	@echo "check-style: clang-format and cppcheck clean"

CHECK_TARGETS += check-style
.PHONY: check-style
