// SHA-256 (FIPS 180-4), just enough to check the PTIR seal of a .vmfb.
#ifndef PTIR_SHA256_H_
#define PTIR_SHA256_H_

#include <stddef.h>
#include <stdint.h>

// Writes the digest of data[0, size) as 64 lowercase hex digits and a NUL.
void ptir_sha256_hex(const uint8_t* data, size_t size, char out_hex[65]);

#endif  // PTIR_SHA256_H_
