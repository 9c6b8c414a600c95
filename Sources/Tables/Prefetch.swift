// Software prefetch. A record reached through an index sits at a random address, so each one is
// a cache miss (and, on 4 KiB pages, a TLB miss). A prefetch instruction starts that miss and
// retires at once, so many misses proceed together; a plain load used for the same purpose
// holds its place in the reorder buffer until the data arrives and so overlaps far fewer.
// A prefetch is only a hint: it never faults and changes no result, whatever the address.
// The instruction comes from a C header (`CPrefetch`): see there for why.
import CPrefetch

/// Asks for the cache line holding `address` to be brought into every cache level, for reading.
@inline(__always)
func prefetch(_ address: UnsafeRawPointer) {
    kura_prefetch(address)
}
