/*
 * password.h — password hashing with OpenSSL scrypt.
 *
 * Encoding (self-describing, so the cost can be raised later):
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt b64>$<hash b64>
 * with a 16-byte random salt per hash and a 32-byte derived key.
 * Default cost ln=15 r=8 p=1 (32 MiB, tens of ms).  Verification is in
 * constant time (CRYPTO_memcmp).  Nothing here logs or keeps the password.
 */
#ifndef COFFER_PASSWORD_H
#define COFFER_PASSWORD_H

#include <stddef.h>

/*
 * Hashes pw (NUL-terminated, non-empty, at most 1024 bytes).  *out is a
 * malloc'd encoded string owned by the caller.  COF_EINVAL on empty/too
 * long, COF_ECRYPTO on OpenSSL failure.
 */
int password_hash(const char *pw, char **out);

/*
 * Returns 0 if pw matches encoded, COF_EPERM if not, COF_EINVAL if encoded
 * is malformed or its cost is outside sane bounds.  encoded may be NULL
 * (account without a password): then a dummy hash is verified so the call
 * takes the same time, and COF_EPERM is returned.
 */
int password_verify(const char *pw, const char *encoded);

/* Test hook: lower the cost for new hashes (unit tests only). */
void password_set_cost(int log2n, int r, int p);

/* Wipe and free a secret string (OPENSSL_cleanse).  NULL is a no-op. */
void secret_free(char *s);

#endif
