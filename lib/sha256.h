/* sha256.h -- SHA-256 (FIPS 180-4), for storing API tokens hashed. */
#ifndef RB_SHA256_H
#define RB_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;           /* bytes hashed so far */
    unsigned char block[64];
    size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, unsigned char out[32]);
/* The digest of s (NUL-terminated) as 64 lowercase hex chars into hex (>= 65 bytes). */
void sha256_hex(const char *s, char hex[65]);

#endif
