/*
 * err.h — the one error enum of Coffer.
 *
 * Every function that can fail returns int: 0 on success, or one of the
 * negative COF_E* codes below.  cof_strerror() gives a short English text.
 */
#ifndef COFFER_ERR_H
#define COFFER_ERR_H

enum cof_err {
	COF_OK = 0,
	COF_ENOMEM = -1,   /* out of memory */
	COF_EINVAL = -2,   /* malformed input (name, size, key, path...) */
	COF_ENOENT = -3,   /* no such account / key / file */
	COF_EEXIST = -4,   /* already exists */
	COF_EDB = -5,      /* database error (details logged by store) */
	COF_EIO = -6,      /* I/O error on disk */
	COF_EPERM = -7,    /* not allowed (wrong password, main account...) */
	COF_ELIMIT = -8,   /* a configured limit was reached */
	COF_ECONFIG = -9,  /* bad configuration */
	COF_EQUOTA = -10,  /* quota exceeded */
	COF_EBUSY = -11,   /* database busy / locked too long */
	COF_ECRYPTO = -12, /* OpenSSL failure */
	COF_ESCHEMA = -13, /* database from a newer Coffer, or not initialised */
	COF_ERANGE = -14,  /* value out of range */
};

/* Returns a static string; never NULL, also for unknown codes. */
const char *cof_strerror(int err);

#endif
