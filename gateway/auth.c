#include "auth.h"

#include <stdlib.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "names.h"
#include "password.h"

const char *
auth_result_str(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_NO_SUCH_USER:
		return "no such account";
	case AUTH_BAD_CREDENTIAL:
		return "wrong credential";
	case AUTH_DISABLED:
		return "account disabled";
	case AUTH_EXPIRED:
		return "account expired";
	case AUTH_ERROR:
		return "internal error";
	}
	return "?";
}

int
auth_account_usable(const struct account *a, enum auth_result *why)
{
	if (a->disabled) {
		*why = AUTH_DISABLED;
		return 0;
	}
	if (a->expires != 0 && time(NULL) >= a->expires) {
		*why = AUTH_EXPIRED;
		return 0;
	}
	return 1;
}

/* Names are unique in any case: "Alice" logs in as alice. */
static int
lookup(struct store *st, const char *user, struct account **a)
{
	char low[NAME_MAX_LEN + 1];
	size_t i;

	for (i = 0; user[i] != '\0'; i++) {
		if (i == NAME_MAX_LEN)
			return COF_ENOENT;
		low[i] = user[i] >= 'A' && user[i] <= 'Z' ?
		    (char)(user[i] - 'A' + 'a') : user[i];
	}
	low[i] = '\0';
	if (name_check(low) != 0)
		return COF_ENOENT;
	return store_account_get(st, low, a);
}

enum auth_result
auth_password(struct store *st, const char *user, const char *password,
    struct account **acct)
{
	struct account *a = NULL;
	enum auth_result r = AUTH_OK;
	int rc, ok;

	rc = lookup(st, user, &a);
	if (rc != 0 && rc != COF_ENOENT)
		return AUTH_ERROR;
	/* Verify even for a missing account or password: same cost. */
	ok = password_verify(password, a != NULL ? a->password : NULL) == 0;
	if (a == NULL)
		r = AUTH_NO_SUCH_USER;
	else if (!ok)
		r = AUTH_BAD_CREDENTIAL;
	else
		(void)auth_account_usable(a, &r);
	if (r != AUTH_OK) {
		account_free(a);
		return r;
	}
	*acct = a;
	return AUTH_OK;
}

enum auth_result
auth_pubkey(struct store *st, const char *user, const unsigned char *blob,
    size_t len, struct account **acct)
{
	struct account *a = NULL;
	enum auth_result r = AUTH_OK;
	int rc;

	rc = lookup(st, user, &a);
	if (rc == COF_ENOENT)
		return AUTH_NO_SUCH_USER;
	if (rc != 0)
		return AUTH_ERROR;
	rc = store_key_match(st, a->id, blob, len);
	if (rc == COF_ENOENT)
		r = AUTH_BAD_CREDENTIAL;
	else if (rc != 0)
		r = AUTH_ERROR;
	else
		(void)auth_account_usable(a, &r);
	if (r != AUTH_OK) {
		account_free(a);
		return r;
	}
	*acct = a;
	return AUTH_OK;
}
