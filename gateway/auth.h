/*
 * auth.h — login checks against the store: password and public key.
 *
 * Both take the same time whether the name exists or not (an unknown name
 * still verifies a dummy password hash).  Disabled and expired accounts
 * are refused like a wrong password; the log says why.
 */
#ifndef COFFER_AUTH_H
#define COFFER_AUTH_H

#include <stddef.h>

#include "store.h"

/* Why a login was refused, for the log (never shown to the client). */
enum auth_result {
	AUTH_OK = 0,
	AUTH_NO_SUCH_USER,
	AUTH_BAD_CREDENTIAL,
	AUTH_DISABLED,
	AUTH_EXPIRED,
	AUTH_ERROR,
};

const char *auth_result_str(enum auth_result r);

/* *acct is set (caller frees) only for AUTH_OK. */
enum auth_result auth_password(struct store *st, const char *user,
    const char *password, struct account **acct);
/* blob: the key in SSH wire form.  Checks the key is authorised only;
 * the caller checks the signature (libssh). */
enum auth_result auth_pubkey(struct store *st, const char *user,
    const unsigned char *blob, size_t len, struct account **acct);
/* 1 if the account may log in now (enabled, not expired). */
int auth_account_usable(const struct account *a, enum auth_result *why);

#endif
