// CRC-32C with the SSE4.2 instruction where the CPU has it (x86-64); Swift cannot name the
// intrinsic, so this is the one C file of the consensus runtime.
#ifndef KURA_CRC32C_H
#define KURA_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// 1 if `kura_crc32c_update` may be called on this CPU.
int kura_crc32c_hardware(void);
/// Advances a raw (not inverted) CRC-32C register over `n` bytes.
uint32_t kura_crc32c_update(uint32_t crc, const void *data, size_t n);
#endif
