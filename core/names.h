/*
 * names.h — account names.
 *
 * A name matches ^[a-z0-9][a-z0-9._-]{0,31}$ (lower case only, so case
 * differences cannot make look-alikes) and is not reserved (root, admin
 * aliases of system accounts: root, daemon, bin, sys, sync, nobody, sshd,
 * coffer, ...).  Names compare case-insensitively in the store as well.
 */
#ifndef COFFER_NAMES_H
#define COFFER_NAMES_H

#define NAME_MAX_LEN 32

/* Returns 0 if valid; COF_EINVAL if malformed; COF_EPERM if reserved. */
int name_check(const char *name);

#endif
