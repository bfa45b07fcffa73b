# resmlp - top-level build. `make demo` builds and trains briefly on real CIFAR-10; `make test` runs
# the whole suite. Missing Debian packages are installed by tools/deps.sh on first use.
CC      ?= gcc
OPT     ?= -O3 -march=native
OMP     ?= -fopenmp
CFLAGS  += -std=c11 $(OPT) $(OMP) -g -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
           -I. -Icore -I/usr/include/x86_64-linux-gnu/openblas-openmp -I/usr/include/lua5.4 \
           -I/usr/include/libxml2
BLASDIR  = /usr/lib/x86_64-linux-gnu/openblas-openmp
LDLIBS  += -L$(BLASDIR) -Wl,-rpath,$(BLASDIR) -lopenblas -ldnnl -lcjson -lz -lm
APPLIBS  = -llua5.4 -lreadline -lncursesw -lxml2
B        = build

CORE_SRC  = $(wildcard core/*.c)
PLOTS_SRC = $(wildcard plots/*.c)
HLS_SRC   = $(wildcard hlsgen/*.c)
REPL_SRC  = $(wildcard repl/*.c)
TEST_SRC  = $(wildcard tests/test_*.c)
CORE_OBJ  = $(CORE_SRC:%.c=$(B)/%.o)
PLOTS_OBJ = $(PLOTS_SRC:%.c=$(B)/%.o)
HLS_OBJ   = $(HLS_SRC:%.c=$(B)/%.o)
REPL_OBJ  = $(REPL_SRC:%.c=$(B)/%.o)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(B)/tests/%)
BENCH_BIN = $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))

.PHONY: all deps demo test clean bench golden
all: $(B)/.deps resmlp $(TEST_BIN) $(BENCH_BIN)

$(B)/.deps: tools/deps.sh
	@mkdir -p $(B)
	@sh tools/deps.sh
	@touch $@

$(B)/%.o: %.c $(B)/.deps $(wildcard core/*.h plots/*.h hlsgen/*.h repl/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libresmlp.a: $(CORE_OBJ)
	ar rcs $@ $^
$(B)/libresmlp_app.a: $(PLOTS_OBJ) $(HLS_OBJ)
	ar rcs $@ $^ $(if $^,,$(B)/core/ctx.o)

# the Lua prelude compiled into the binary (generated file kept in the repository)
repl/prelude_lua.c: repl/prelude.lua repl/gen_prelude.sh
	sh repl/gen_prelude.sh

resmlp: $(REPL_OBJ) $(B)/libresmlp_app.a $(B)/libresmlp.a
	$(CC) $(CFLAGS) -o $@ $(REPL_OBJ) $(B)/libresmlp_app.a $(B)/libresmlp.a $(APPLIBS) $(LDLIBS)

$(B)/tests/%: tests/%.c $(wildcard tests/*.h) $(B)/libresmlp_app.a $(B)/libresmlp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libresmlp_app.a $(B)/libresmlp.a $(APPLIBS) $(LDLIBS)

$(B)/bench/%: bench/%.c $(B)/libresmlp_app.a $(B)/libresmlp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libresmlp_app.a $(B)/libresmlp.a $(APPLIBS) $(LDLIBS)

# short real run (about half a minute): ReLU ResMLP h=96 on 20,000 CIFAR-10 training images, evaluated on the 1,000 test images
demo: all
	./resmlp train --data ../shared/data/cifar-10-batches-bin --hidden 96 --epochs 3 --limit 20000 --eval-each \
	    --out runs/demo.safetensors
	./resmlp eval runs/demo.safetensors --data ../shared/data/cifar-10-batches-bin

test: all
	sh tests/run.sh

# rewrite the golden files (plots, emitted headers) from the current code; review with git diff
golden: all
	sh tools/regen_golden.sh

bench: all
	sh bench/run_all.sh

clean:
	rm -rf $(B) resmlp

# fuzzing, sanitizer and valgrind targets (fuzz, fuzz-afl, test-asan, test-valgrind)
include tests/harden.mk
