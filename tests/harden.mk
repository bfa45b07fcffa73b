# harden.mk - fuzzing and sanitizer targets (included by the Makefile; see tests/fuzz/README.md).
#   make fuzz-build    libFuzzer + ASan + UBSan harnesses (clang) in build/fuzz
#   make fuzz          each target for FUZZ_SECONDS (default 300), one after another, one core each
#   make fuzz-replay   replay the committed corpora (what `make test` does, in tests/e2e_fuzz_replay.sh)
#   make fuzz-afl      AFL++ build of the same harnesses (build/afl) and an AFL++ run per target
#   make test-asan     the whole suite built with ASan + UBSan (gcc) in build/asan
#   make test-valgrind the REPL end-to-end tests under valgrind (no definite leaks)
FUZZ_TARGETS  = cifar idx table safetensors csynth cmdline luaopts qmodel
FUZZ_SECONDS ?= 300
FZ        = build/fuzz
FZCC     ?= clang
FZSAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FZCFLAGS  = -std=c11 -O1 -g -march=native -D_GNU_SOURCE -I. -Icore -I/usr/include/x86_64-linux-gnu/openblas-openmp \
            -I/usr/include/lua5.4 -I/usr/include/libxml2 -Wno-unknown-pragmas
FZ_SRC    = $(CORE_SRC) $(PLOTS_SRC) $(HLS_SRC) $(filter-out repl/main.c,$(REPL_SRC))
FZ_OBJ    = $(FZ_SRC:%.c=$(FZ)/%.o)
FZ_BIN    = $(FUZZ_TARGETS:%=$(FZ)/fuzz_%)
FZ_LIBS   = $(APPLIBS) $(LDLIBS)

.PHONY: fuzz-build fuzz fuzz-replay fuzz-seeds fuzz-afl fuzz-afl-build test-asan test-valgrind
$(FZ)/%.o: %.c $(B)/.deps $(wildcard core/*.h plots/*.h hlsgen/*.h repl/*.h)
	@mkdir -p $(dir $@)
	$(FZCC) $(FZCFLAGS) $(FZSAN) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/libfuzzme.a: $(FZ_OBJ)
	ar rcs $@ $^
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_repl.h $(FZ)/libfuzzme.a
	$(FZCC) $(FZCFLAGS) $(FZSAN) -fsanitize=fuzzer -o $@ $< $(FZ)/libfuzzme.a $(FZ_LIBS)
fuzz-build: $(FZ_BIN)
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)
fuzz-replay: fuzz-build
	sh tests/fuzz/run.sh replay $(FUZZ_TARGETS)

# AFL++: the same harnesses through afl-clang-fast (LTO mode when afl-clang-lto works), ASan + UBSan,
# libAFLDriver as main (-fsanitize=fuzzer under afl-clang-* links it)
FA        = build/afl
AFLCC    ?= $(shell afl-clang-lto --version >/dev/null 2>&1 && echo afl-clang-lto || echo afl-clang-fast)
FA_OBJ    = $(FZ_SRC:%.c=$(FA)/%.o)
FA_BIN    = $(FUZZ_TARGETS:%=$(FA)/fuzz_%)
$(FA)/%.o: %.c $(B)/.deps $(wildcard core/*.h plots/*.h hlsgen/*.h repl/*.h)
	@mkdir -p $(dir $@)
	AFL_QUIET=1 $(AFLCC) $(FZCFLAGS) $(FZSAN) -c $< -o $@
FA_AR    ?= $(shell command -v llvm-ar-14 || command -v llvm-ar || echo ar)   # LTO objects are bitcode
$(FA)/libfuzzme.a: $(FA_OBJ)
	$(FA_AR) rcs $@ $^
$(FA)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h tests/fuzz/fuzz_repl.h $(FA)/libfuzzme.a
	AFL_QUIET=1 $(AFLCC) $(FZCFLAGS) $(FZSAN) -fsanitize=fuzzer -o $@ $< $(FA)/libfuzzme.a $(FZ_LIBS)
fuzz-afl-build: $(FA_BIN)
fuzz-afl: fuzz-afl-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh afl $(FUZZ_TARGETS)

# the seed corpora (committed; rerun only when the formats change): real writers, real data
$(FZ)/make_seeds: tests/fuzz/make_seeds.c $(FZ)/libfuzzme.a
	$(FZCC) $(FZCFLAGS) $(FZSAN) -fsanitize=fuzzer-no-link -o $@ $< $(FZ)/libfuzzme.a $(FZ_LIBS)
fuzz-seeds: $(FZ)/make_seeds
	$(FZ)/make_seeds tests/fuzz/corpus ../shared/data tests/fixtures
	./resmlp run tests/fuzz/make_qseeds.lua tests/fuzz/corpus/qmodel ../shared/data

test-asan:
	sh tests/asan.sh suite

# the REPL end-to-end tests under valgrind (-O1 build without AVX-512, which valgrind cannot run)
test-valgrind:
	sh tests/valgrind.sh
