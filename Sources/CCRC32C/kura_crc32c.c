#include "kura_crc32c.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int kura_crc32c_hardware(void) { return __builtin_cpu_supports("sse4.2"); }

__attribute__((target("sse4.2")))
uint32_t kura_crc32c_update(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#else
int kura_crc32c_hardware(void) { return 0; }
uint32_t kura_crc32c_update(uint32_t crc, const void *data, size_t n) { (void)data; (void)n; return crc; }
#endif
