/*
 * gw.h — what the listener hands each connection.
 */
#ifndef COFFER_GW_H
#define COFFER_GW_H

#include <sys/types.h>

#include "config.h"
#include "ledger.h"

struct gw {
	struct config *cfg;  /* borrowed, lives as long as the process */
	struct ledger *lg;   /* mapped before fork, shared by children */
	char *store_root;    /* real path of the store's tree */
	int drop;            /* 1: switch to uid/gid after login */
	uid_t uid;
	gid_t gid;
	int debug;           /* -d: one connection in the foreground */
};

#endif
