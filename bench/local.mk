# bench: `make bench` builds and runs each benchmark; each prints ratios against a baseline it
# measures in the same run.
EXTRA_PROGRAMS += bench/bench_arena
GE_BENCHES += bench/bench_arena
GE_BENCH_SRC = bench/bench.c bench/bench.h
bench_bench_arena_SOURCES = bench/bench_arena.c $(GE_BENCH_SRC)
bench_bench_arena_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_arena_LDADD = libgecore.la
