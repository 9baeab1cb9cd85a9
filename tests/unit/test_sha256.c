/* test_sha256.c -- SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <stdlib.h>

#include "sha256.h"
#include "testhelp.h"

static void test_vectors(void)
{
    char hex[65];
    sha256_hex("", hex);
    CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", hex);
    CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
    CHECK_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_pieces(void)
{
    /* One million 'a', fed in uneven pieces to exercise the block buffer. */
    sha256_ctx c;
    unsigned char d[32];
    char piece[997];
    memset(piece, 'a', sizeof piece);
    sha256_init(&c);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof piece ? left : sizeof piece;
        sha256_update(&c, piece, n);
        left -= n;
    }
    sha256_final(&c, d);
    char hex[65];
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", d[i]);
    CHECK_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

int main(void)
{
    RUN(test_vectors);
    RUN(test_million_a_in_pieces);
    return TH_DONE();
}
