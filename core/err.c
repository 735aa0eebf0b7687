#include "err.h"

const char *
cof_strerror(int err)
{
	switch (err) {
	case COF_OK:
		return "success";
	case COF_ENOMEM:
		return "out of memory";
	case COF_EINVAL:
		return "invalid argument";
	case COF_ENOENT:
		return "not found";
	case COF_EEXIST:
		return "already exists";
	case COF_EDB:
		return "database error";
	case COF_EIO:
		return "input/output error";
	case COF_EPERM:
		return "permission denied";
	case COF_ELIMIT:
		return "limit reached";
	case COF_ECONFIG:
		return "configuration error";
	case COF_EQUOTA:
		return "quota exceeded";
	case COF_EBUSY:
		return "database busy";
	case COF_ECRYPTO:
		return "cryptographic library error";
	case COF_ESCHEMA:
		return "database schema mismatch or store not initialised";
	case COF_ERANGE:
		return "value out of range";
	}
	return "unknown error";
}
