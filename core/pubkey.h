/*
 * pubkey.h — OpenSSH public-key lines ("TYPE BASE64 [COMMENT]").
 *
 * Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa with a
 * modulus of at least 2048 bits.  The base64 blob is decoded and its inner
 * fields checked (type string matches, lengths exact, no trailing bytes).
 * Options prefixes (authorized_keys "from=..." etc.) are refused.
 */
#ifndef COFFER_PUBKEY_H
#define COFFER_PUBKEY_H

#include <stddef.h>

#define PUBKEY_FP_LEN 64 /* "SHA256:" + 43 base64 chars + NUL fits */

struct pubkey {
	char *type;           /* "ssh-ed25519", ... */
	unsigned char *blob;  /* the decoded wire blob */
	size_t blob_len;
	char *comment;        /* may be "" (never NULL) */
	unsigned bits;        /* key size: 256 ed25519, curve bits, rsa bits */
	char fingerprint[PUBKEY_FP_LEN]; /* "SHA256:<base64, no padding>" */
};

/*
 * Parses one line (trailing newline allowed).  *out set on success; free
 * with pubkey_free().  COF_EINVAL with a short reason in errbuf otherwise.
 */
int pubkey_parse(const char *line, struct pubkey **out, char *errbuf,
    size_t errlen);
/* Fingerprint of a raw blob into fp (PUBKEY_FP_LEN bytes). */
int pubkey_fingerprint(const unsigned char *blob, size_t len, char *fp);
void pubkey_free(struct pubkey *k);

#endif
