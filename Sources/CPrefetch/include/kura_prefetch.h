// Software prefetch for the memory tier. Swift cannot name the instruction; declaring LLVM's
// intrinsic to Swift with @_silgen_name worked in plain builds, but a thread-sanitizer build emits
// it as an `invoke`, which LLVM's verifier rejects. Clang's builtin compiles everywhere, and the
// function is inlined into its Swift callers like any static inline C function.
#ifndef KURA_PREFETCH_H
#define KURA_PREFETCH_H

/// Asks for the cache line holding `address` to be brought into every cache level, for reading.
static inline __attribute__((always_inline)) void kura_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}
#endif
